package api

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
)

// checkKeys walks a JSON document beside the Go type it decodes into and
// rejects what encoding/json lets through: a key given twice in one
// object, and a key that matches a field only when case is ignored, such
// as "Name" for "name". The error names the key's path.
func checkKeys(body []byte, t reflect.Type) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	return walkValue(dec, t, "")
}

func walkValue(dec *json.Decoder, t reflect.Type, path string) error {
	tok, err := dec.Token()
	if err != nil {
		return nil // malformed JSON is reported by the decoder proper
	}
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch tok {
	case json.Delim('{'):
		return walkObject(dec, t, path)
	case json.Delim('['):
		return walkArray(dec, t, path)
	}
	return nil
}

func walkObject(dec *json.Decoder, t reflect.Type, path string) error {
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil
		}
		key, _ := tok.(string)
		field := joinPath(path, key)
		if seen[key] {
			return invalid(field, "is given twice")
		}
		seen[key] = true
		child, err := childType(t, key, field)
		if err != nil {
			return err
		}
		if err := walkValue(dec, child, field); err != nil {
			return err
		}
	}
	_, _ = dec.Token() // the closing brace
	return nil
}

func walkArray(dec *json.Decoder, t reflect.Type, path string) error {
	var elem reflect.Type
	if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
		elem = t.Elem()
	}
	for i := 0; dec.More(); i++ {
		if err := walkValue(dec, elem, path+"["+strconv.Itoa(i)+"]"); err != nil {
			return err
		}
	}
	_, _ = dec.Token() // the closing bracket
	return nil
}

// childType returns the type of the value under key, or nil when the
// schema no longer constrains it. A struct key must match a field's JSON
// name exactly.
func childType(t reflect.Type, key, field string) (reflect.Type, error) {
	if t == nil {
		return nil, nil
	}
	switch t.Kind() {
	case reflect.Map:
		return t.Elem(), nil
	case reflect.Struct:
		if f, ok := structField(t, key); ok {
			return f, nil
		}
		for name := range fieldNames(t) {
			if strings.EqualFold(name, key) {
				return nil, invalid(field, "unknown field; did you mean %q? Field names are case-sensitive", name)
			}
		}
	}
	return nil, nil
}

func structField(t reflect.Type, key string) (reflect.Type, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous && f.Type.Kind() == reflect.Struct {
			if inner, ok := structField(f.Type, key); ok {
				return inner, true
			}
			continue
		}
		if jsonName(f) == key {
			return f.Type, true
		}
	}
	return nil, false
}

func fieldNames(t reflect.Type) map[string]bool {
	names := map[string]bool{}
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous && f.Type.Kind() == reflect.Struct {
			for name := range fieldNames(f.Type) {
				names[name] = true
			}
			continue
		}
		names[jsonName(f)] = true
	}
	return names
}

func jsonName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	if name == "" {
		return f.Name
	}
	return name
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
