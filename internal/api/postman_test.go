package api_test

import (
	"bytes"
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The Postman files, and the API reference whose worker table lists the
// worker's routes, relative to this package.
const (
	postmanCollectionPath  = "../../docs/postman/Podling.postman_collection.json"
	postmanEnvironmentPath = "../../docs/postman/Podling.postman_environment.json"
	apiReferencePath       = "../../docs/API.md"
)

const postmanSchemaV21 = "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"

// postmanItem is a folder (with Items) or a request of a collection.
type postmanItem struct {
	Name    string          `json:"name"`
	Items   []postmanItem   `json:"item"`
	Request *postmanRequest `json:"request"`
	Events  []postmanEvent  `json:"event"`
}

type postmanRequest struct {
	Method string `json:"method"`
	Header []struct {
		Key   string `json:"key"`
		Value string `json:"value"`
	} `json:"header"`
	Body *struct {
		Raw string `json:"raw"`
	} `json:"body"`
	URL struct {
		Raw   string   `json:"raw"`
		Host  []string `json:"host"`
		Path  []string `json:"path"`
		Query []struct {
			Key   string `json:"key"`
			Value string `json:"value"`
		} `json:"query"`
	} `json:"url"`
}

type postmanEvent struct {
	Listen string `json:"listen"`
	Script struct {
		Exec []string `json:"exec"`
	} `json:"script"`
}

type postmanVariable struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

type postmanCollection struct {
	Info struct {
		Name   string `json:"name"`
		Schema string `json:"schema"`
	} `json:"info"`
	Auth struct {
		Type   string            `json:"type"`
		Bearer []postmanVariable `json:"bearer"`
	} `json:"auth"`
	Variables []postmanVariable `json:"variable"`
	Items     []postmanItem     `json:"item"`
}

type postmanEnvironment struct {
	Name   string            `json:"name"`
	Values []postmanVariable `json:"values"`
}

// decodeJSONFile checks that a file is valid JSON and decodes it into v.
func decodeJSONFile(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	if !json.Valid(data) {
		t.Fatalf("%s is not valid JSON", path)
	}
	if err := json.NewDecoder(bytes.NewReader(data)).Decode(v); err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
}

func loadCollection(t *testing.T) postmanCollection {
	t.Helper()
	var c postmanCollection
	decodeJSONFile(t, postmanCollectionPath, &c)
	return c
}

// postmanEntry is one request of the collection with the folders above it.
type postmanEntry struct {
	folders string
	item    postmanItem
}

func (e postmanEntry) String() string { return e.folders + " / " + e.item.Name }

func requests(items []postmanItem, folders string) []postmanEntry {
	var out []postmanEntry
	for _, item := range items {
		if item.Request != nil {
			out = append(out, postmanEntry{folders: folders, item: item})
			continue
		}
		out = append(out, requests(item.Items, strings.TrimPrefix(folders+" / "+item.Name, " / "))...)
	}
	return out
}

// variableSegment matches a path segment that is one Postman variable,
// such as {{taskId}}. templateParam matches a router path parameter, such
// as {taskId}.
var (
	variableSegment = regexp.MustCompile(`^\{\{[^{}]+\}\}$`)
	templateParam   = regexp.MustCompile(`\{[^{}/]+\}`)
	variableUse     = regexp.MustCompile(`\{\{([^{}]+)\}\}`)
)

// routeKey returns "METHOD /path" with every path parameter written as {}.
func routeKey(method, path string) string {
	return method + " " + templateParam.ReplaceAllString(path, "{}")
}

// requestKey returns the route key of a collection request: its path
// segments joined, each {{variable}} segment replaced by {}.
func requestKey(r *postmanRequest) string {
	segments := slices.Clone(r.URL.Path)
	for i, s := range segments {
		if variableSegment.MatchString(s) {
			segments[i] = "{}"
		}
	}
	return r.Method + " /" + strings.Join(segments, "/")
}

// workerRoutes returns the route keys of the worker API table of
// docs/API.md, the section headed "## Worker API".
func workerRoutes(t *testing.T) map[string]bool {
	t.Helper()
	data, err := os.ReadFile(apiReferencePath)
	if err != nil {
		t.Fatalf("read %s: %v", apiReferencePath, err)
	}
	_, section, found := strings.Cut(string(data), "\n## Worker API\n")
	if !found {
		t.Fatalf("%s has no section ## Worker API", apiReferencePath)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	routes := map[string]bool{}
	row := regexp.MustCompile("(?m)^\\| `(GET|HEAD|POST|PUT|DELETE) (/[^` ?]*)")
	for _, m := range row.FindAllStringSubmatch(section, -1) {
		routes[routeKey(m[1], m[2])] = true
	}
	if len(routes) == 0 {
		t.Fatalf("found no routes in the worker table of %s", apiReferencePath)
	}
	return routes
}

func TestPostman_FilesAreJSON(t *testing.T) {
	for _, path := range []string{postmanCollectionPath, postmanEnvironmentPath} {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("read %s: %v", path, err)
			continue
		}
		if !json.Valid(data) {
			t.Errorf("%s is not valid JSON", path)
		}
	}
}

func TestPostman_CollectionSettings(t *testing.T) {
	c := loadCollection(t)
	if c.Info.Schema != postmanSchemaV21 {
		t.Errorf("info.schema = %q, want %q", c.Info.Schema, postmanSchemaV21)
	}
	if c.Auth.Type != "bearer" || len(c.Auth.Bearer) != 1 || c.Auth.Bearer[0].Value != "{{token}}" {
		t.Errorf("auth = %+v, want bearer with the token {{token}}", c.Auth)
	}

	defaults := map[string]string{}
	for _, v := range c.Variables {
		defaults[v.Key] = v.Value
	}
	want := map[string]string{"baseUrl": "http://localhost:8070", "workerUrl": "http://localhost:8081", "token": ""}
	for key, value := range want {
		got, ok := defaults[key]
		if !ok {
			t.Errorf("collection variable %s is missing", key)
			continue
		}
		if got != value {
			t.Errorf("collection variable %s = %q, want %q", key, got, value)
		}
	}

	var folders []string
	for _, item := range c.Items {
		folders = append(folders, item.Name)
	}
	for _, name := range []string{"Health", "Tasks", "Pods", "Services", "Nodes", "Cluster", "Worker"} {
		if !slices.Contains(folders, name) {
			t.Errorf("collection has no folder %s; folders are %v", name, folders)
		}
	}
}

func TestPostman_EnvironmentIsLocal(t *testing.T) {
	var env postmanEnvironment
	decodeJSONFile(t, postmanEnvironmentPath, &env)
	if env.Name != "Podling - Local" {
		t.Errorf("environment name = %q, want %q", env.Name, "Podling - Local")
	}
	values := map[string]string{}
	for _, v := range env.Values {
		values[v.Key] = v.Value
	}
	if got := values["baseUrl"]; got != "http://localhost:8070" {
		t.Errorf("baseUrl = %q, want http://localhost:8070", got)
	}
	if got, ok := values["token"]; !ok || got != "" {
		t.Errorf("token = %q (defined %v), want defined and empty", got, ok)
	}
}

// TestPostman_RequestsMatchRoutes checks each master request against the
// router and each worker request against the worker table of docs/API.md.
func TestPostman_RequestsMatchRoutes(t *testing.T) {
	masterRoutes := map[string]bool{}
	for route := range servedRoutes(t) {
		method, path, _ := strings.Cut(route, " ")
		masterRoutes[routeKey(method, path)] = true
	}
	worker := workerRoutes(t)

	entries := requests(loadCollection(t).Items, "")
	if len(entries) == 0 {
		t.Fatal("the collection has no requests")
	}
	for _, e := range entries {
		r := e.item.Request
		key := requestKey(r)
		switch host := strings.Join(r.URL.Host, "."); host {
		case "{{baseUrl}}":
			if !masterRoutes[key] {
				t.Errorf("%s: %s is not a route of the master", e, key)
			}
		case "{{workerUrl}}":
			if !worker[key] {
				t.Errorf("%s: %s is not in the worker table of %s", e, key, apiReferencePath)
			}
		default:
			t.Errorf("%s: host %q, want {{baseUrl}} or {{workerUrl}}", e, host)
		}
	}
}

// TestPostman_CoversPublicRoutes checks that every master route outside
// /internal/ has at least one request.
func TestPostman_CoversPublicRoutes(t *testing.T) {
	covered := map[string]bool{}
	for _, e := range requests(loadCollection(t).Items, "") {
		if strings.Join(e.item.Request.URL.Host, ".") == "{{baseUrl}}" {
			covered[requestKey(e.item.Request)] = true
		}
	}
	var missing []string
	for route := range servedRoutes(t) {
		method, path, _ := strings.Cut(route, " ")
		if !strings.HasPrefix(path, "/internal/") && !covered[routeKey(method, path)] {
			missing = append(missing, route)
		}
	}
	slices.Sort(missing)
	if len(missing) > 0 {
		t.Errorf("routes without a request in the collection:\n  %s", strings.Join(missing, "\n  "))
	}
}

// TestPostman_RawURLsMatchParts checks that url.raw, which Postman shows,
// matches host, path and query, which it sends.
func TestPostman_RawURLsMatchParts(t *testing.T) {
	for _, e := range requests(loadCollection(t).Items, "") {
		u := e.item.Request.URL
		want := strings.Join(u.Host, ".") + "/" + strings.Join(u.Path, "/")
		var query []string
		for _, q := range u.Query {
			query = append(query, q.Key+"="+q.Value)
		}
		if len(query) > 0 {
			want += "?" + strings.Join(query, "&")
		}
		if u.Raw != want {
			t.Errorf("%s: url.raw = %q, but its parts make %q", e, u.Raw, want)
		}
	}
}

// TestPostman_VariablesDefined checks that every {{variable}} a request
// uses is a collection variable, an environment variable, one that a
// script sets, or one of Postman's dynamic variables such as {{$guid}}.
func TestPostman_VariablesDefined(t *testing.T) {
	c := loadCollection(t)
	defined := map[string]bool{}
	for _, v := range c.Variables {
		defined[v.Key] = true
	}
	var env postmanEnvironment
	decodeJSONFile(t, postmanEnvironmentPath, &env)
	for _, v := range env.Values {
		defined[v.Key] = true
	}

	entries := requests(c.Items, "")
	scriptSet := regexp.MustCompile(`collectionVariables\.set\("([^"]+)"`)
	for _, e := range entries {
		for _, event := range e.item.Events {
			for _, m := range scriptSet.FindAllStringSubmatch(strings.Join(event.Script.Exec, "\n"), -1) {
				defined[m[1]] = true
			}
		}
	}

	for _, e := range entries {
		r := e.item.Request
		texts := []string{r.URL.Raw}
		for _, h := range r.Header {
			texts = append(texts, h.Value)
		}
		if r.Body != nil {
			texts = append(texts, r.Body.Raw)
		}
		for _, m := range variableUse.FindAllStringSubmatch(strings.Join(texts, "\n"), -1) {
			if name := m[1]; !defined[name] && !strings.HasPrefix(name, "$") {
				t.Errorf("%s uses {{%s}}, which nothing defines", e, name)
			}
		}
	}
}
