package main

import (
	"archive/zip"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// publish writes a module as a proxy serves it: list, info, mod, and a zip
// with the module's files under path@version/, and without a nested
// module's.
func TestPublishWritesTheProxyLayout(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module example.com/Upper/lib\n\ngo 1.25.0\n")
	write("lib.go", "package lib\n")
	write("nested/go.mod", "module example.com/Upper/lib/nested\n")
	write("nested/nested.go", "package nested\n")

	out := t.TempDir()
	path, err := publish(out, "v0.1.0", dir)
	if err != nil {
		t.Fatal(err)
	}
	if path != "example.com/Upper/lib" {
		t.Fatalf("module path %q", path)
	}
	at := filepath.Join(out, "example.com", "!upper", "lib", "@v") // upper case escaped
	list, err := os.ReadFile(filepath.Join(at, "list"))
	if err != nil || string(list) != "v0.1.0\n" {
		t.Fatalf("list: %q, %v", list, err)
	}
	var info struct{ Version string }
	data, _ := os.ReadFile(filepath.Join(at, "v0.1.0.info"))
	if err := json.Unmarshal(data, &info); err != nil || info.Version != "v0.1.0" {
		t.Fatalf("info: %s, %v", data, err)
	}
	if mod, _ := os.ReadFile(filepath.Join(at, "v0.1.0.mod")); string(mod) != "module example.com/Upper/lib\n\ngo 1.25.0\n" {
		t.Fatalf("mod: %q", mod)
	}
	z, err := zip.OpenReader(filepath.Join(at, "v0.1.0.zip"))
	if err != nil {
		t.Fatal(err)
	}
	defer z.Close()
	var names []string
	for _, f := range z.File {
		names = append(names, f.Name)
	}
	slices.Sort(names)
	want := []string{"example.com/Upper/lib@v0.1.0/go.mod", "example.com/Upper/lib@v0.1.0/lib.go"} // the path as it is, inside
	if !slices.Equal(names, want) {
		t.Fatalf("zip holds %q, want %q", names, want)
	}
}
