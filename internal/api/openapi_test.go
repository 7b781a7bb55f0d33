package api_test

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
	"sigs.k8s.io/yaml"

	"github.com/podling/podling/internal/api"
	"github.com/podling/podling/internal/metrics"
)

// openAPIPath is the OpenAPI document, relative to this package.
const openAPIPath = "../../docs/openapi.yaml"

// operationMethods are the keys of an OpenAPI path item that name
// operations; the other keys (summary, parameters, ...) do not.
var operationMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// noMetricsState is a metrics.StateSource with nothing to report. Routes
// never scrapes it.
type noMetricsState struct{}

func (noMetricsState) RaftStatus() metrics.RaftStatus          { return metrics.RaftStatus{} }
func (noMetricsState) ObjectCounts() map[string]map[string]int { return nil }

// servedRoutes returns every "METHOD /path" a master serves. The server has
// metrics configured, as podling-master always has, because /metrics is
// registered only then.
func servedRoutes(t *testing.T) map[string]bool {
	t.Helper()
	server := api.New(api.Config{Logger: hclog.NewNullLogger(), Metrics: metrics.NewMaster(noMetricsState{})})
	served := map[string]bool{}
	for _, r := range server.Routes() {
		served[r.Method+" "+r.Path] = true
	}
	if len(served) == 0 {
		t.Fatal("Routes returned no routes")
	}
	return served
}

// openAPIDocument is the part of an OpenAPI document the tests read.
type openAPIDocument struct {
	OpenAPI    string                                `json:"openapi"`
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		Parameters map[string]openAPIParameter `json:"parameters"`
	} `json:"components"`
}

type openAPIParameter struct {
	Ref  string `json:"$ref"`
	Name string `json:"name"`
	In   string `json:"in"`
}

type openAPIOperation struct {
	Tags       []string                   `json:"tags"`
	Internal   bool                       `json:"x-internal"`
	Parameters []openAPIParameter         `json:"parameters"`
	Responses  map[string]json.RawMessage `json:"responses"`
}

// loadOpenAPI reads the OpenAPI document as JSON, for decoding into typed
// views, and as a generic tree, for following references.
func loadOpenAPI(t *testing.T) (openAPIDocument, any) {
	t.Helper()
	data, err := os.ReadFile(openAPIPath)
	if err != nil {
		t.Fatalf("read the OpenAPI document: %v", err)
	}
	asJSON, err := yaml.YAMLToJSON(data)
	if err != nil {
		t.Fatalf("parse %s as YAML: %v", openAPIPath, err)
	}
	var doc openAPIDocument
	if err := json.Unmarshal(asJSON, &doc); err != nil {
		t.Fatalf("decode %s: %v", openAPIPath, err)
	}
	var tree any
	if err := json.Unmarshal(asJSON, &tree); err != nil {
		t.Fatalf("decode %s: %v", openAPIPath, err)
	}
	return doc, tree
}

// documentedOperation is one operation of the document with its method
// in upper case, as Routes reports it.
type documentedOperation struct {
	method, path string
	op           openAPIOperation
}

func (o documentedOperation) String() string { return o.method + " " + o.path }

func operations(t *testing.T, doc openAPIDocument) []documentedOperation {
	t.Helper()
	var ops []documentedOperation
	for path, item := range doc.Paths {
		for key, raw := range item {
			if !slices.Contains(operationMethods, key) {
				continue
			}
			var op openAPIOperation
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Fatalf("decode %s %s: %v", key, path, err)
			}
			ops = append(ops, documentedOperation{method: strings.ToUpper(key), path: path, op: op})
		}
	}
	return ops
}

// missingFrom returns the keys of have that want lacks, sorted.
func missingFrom(want, have map[string]bool) []string {
	var missing []string
	for key := range have {
		if !want[key] {
			missing = append(missing, key)
		}
	}
	slices.Sort(missing)
	return missing
}

// TestOpenAPI_DocumentsEveryRoute compares the document with the router.
// HEAD routes are documented as head operations of their own.
func TestOpenAPI_DocumentsEveryRoute(t *testing.T) {
	served := servedRoutes(t)
	doc, _ := loadOpenAPI(t)
	documented := map[string]bool{}
	for _, op := range operations(t, doc) {
		documented[op.String()] = true
	}

	if undocumented := missingFrom(documented, served); len(undocumented) > 0 {
		t.Errorf("routes the server serves that %s lacks:\n  %s", openAPIPath, strings.Join(undocumented, "\n  "))
	}
	if unserved := missingFrom(served, documented); len(unserved) > 0 {
		t.Errorf("operations in %s that the server does not serve:\n  %s", openAPIPath, strings.Join(unserved, "\n  "))
	}
}

func TestOpenAPI_IsVersion3(t *testing.T) {
	doc, _ := loadOpenAPI(t)
	if !regexp.MustCompile(`^3\.\d+\.\d+$`).MatchString(doc.OpenAPI) {
		t.Errorf("openapi = %q, want a 3.x.y version", doc.OpenAPI)
	}
}

func TestOpenAPI_EveryOperationHasResponses(t *testing.T) {
	doc, _ := loadOpenAPI(t)
	for _, op := range operations(t, doc) {
		if len(op.op.Responses) == 0 {
			t.Errorf("%s has no responses", op)
		}
		for status := range op.op.Responses {
			if !regexp.MustCompile(`^[1-5][0-9][0-9]$|^default$`).MatchString(status) {
				t.Errorf("%s has a response keyed %q, want an HTTP status code", op, status)
			}
		}
	}
}

func TestOpenAPI_PathParametersDeclared(t *testing.T) {
	doc, _ := loadOpenAPI(t)
	pathParam := regexp.MustCompile(`\{([^}]+)\}`)
	for _, op := range operations(t, doc) {
		declared := map[string]bool{}
		for _, p := range op.op.Parameters {
			if p.Ref != "" {
				p = doc.Components.Parameters[strings.TrimPrefix(p.Ref, "#/components/parameters/")]
			}
			if p.In == "path" {
				declared[p.Name] = true
			}
		}
		inPath := map[string]bool{}
		for _, m := range pathParam.FindAllStringSubmatch(op.path, -1) {
			inPath[m[1]] = true
		}
		if missing := missingFrom(declared, inPath); len(missing) > 0 {
			t.Errorf("%s declares no path parameter %v", op, missing)
		}
		if extra := missingFrom(inPath, declared); len(extra) > 0 {
			t.Errorf("%s declares path parameters %v that its path lacks", op, extra)
		}
	}
}

func TestOpenAPI_InternalRoutesMarked(t *testing.T) {
	doc, _ := loadOpenAPI(t)
	for _, op := range operations(t, doc) {
		internal := strings.HasPrefix(op.path, "/internal/")
		if internal != op.op.Internal {
			t.Errorf("%s: x-internal is %v, want %v", op, op.op.Internal, internal)
		}
		if internal != slices.Contains(op.op.Tags, "Internal") {
			t.Errorf("%s: tags %v, want the tag Internal exactly on /internal/ paths", op, op.op.Tags)
		}
	}
}

// TestOpenAPI_ReferencesResolve follows every local $ref of the document.
func TestOpenAPI_ReferencesResolve(t *testing.T) {
	_, tree := loadOpenAPI(t)
	var refs []string
	collectRefs(tree, &refs)
	if len(refs) == 0 {
		t.Fatal("found no $ref in the document")
	}
	for _, ref := range refs {
		if !strings.HasPrefix(ref, "#/") {
			t.Errorf("$ref %q points outside the document", ref)
			continue
		}
		if _, ok := lookupPointer(tree, strings.Split(strings.TrimPrefix(ref, "#/"), "/")); !ok {
			t.Errorf("$ref %q resolves to nothing", ref)
		}
	}
}

func collectRefs(node any, refs *[]string) {
	switch v := node.(type) {
	case map[string]any:
		for key, child := range v {
			if ref, ok := child.(string); ok && key == "$ref" {
				*refs = append(*refs, ref)
				continue
			}
			collectRefs(child, refs)
		}
	case []any:
		for _, child := range v {
			collectRefs(child, refs)
		}
	}
}

// lookupPointer follows a JSON pointer's segments through maps. The
// document's pointers need no ~0 or ~1 unescaping.
func lookupPointer(node any, segments []string) (any, bool) {
	for _, segment := range segments {
		m, ok := node.(map[string]any)
		if !ok {
			return nil, false
		}
		if node, ok = m[segment]; !ok {
			return nil, false
		}
	}
	return node, true
}
