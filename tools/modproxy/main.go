// Command modproxy writes the modules of a checkout as a Go module proxy
// on disk (the layout of `go mod download` and of GOPROXY=file://...), at
// one version, so that a consumer can be built against them the way a
// user's `go get` resolves a release: without replace directives or a
// go.work. .ci/run builds a consumer module this way.
//
// Usage:
//
//	modproxy -out DIR -version v0.1.0 MODULE_DIR...
//
// Each MODULE_DIR holds a go.mod; its zip is made with
// golang.org/x/mod/zip.CreateFromDir, which leaves out nested modules and
// checks what a module zip may hold.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	"golang.org/x/mod/zip"
)

func main() {
	out := flag.String("out", "", "the directory to write the proxy to")
	version := flag.String("version", "", "the version the modules are published at, e.g. v0.1.0")
	flag.Parse()
	if *out == "" || *version == "" || flag.NArg() == 0 {
		log.Fatal("usage: modproxy -out DIR -version vX.Y.Z MODULE_DIR...")
	}
	for _, dir := range flag.Args() {
		path, err := publish(*out, *version, dir)
		if err != nil {
			log.Fatalf("%s: %v", dir, err)
		}
		fmt.Printf("%s@%s from %s\n", path, *version, dir)
	}
}

// publish writes the module in dir to the proxy at root, at version, and
// returns its path.
func publish(root, version, dir string) (string, error) {
	gomod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return "", err
	}
	path := modfile.ModulePath(gomod)
	if path == "" {
		return "", fmt.Errorf("no module path in go.mod")
	}
	mv := module.Version{Path: path, Version: version}
	if err := module.Check(path, version); err != nil {
		return "", err
	}
	escaped, err := module.EscapePath(path)
	if err != nil {
		return "", err
	}
	at := filepath.Join(root, filepath.FromSlash(escaped), "@v")
	if err := os.MkdirAll(at, 0o755); err != nil {
		return "", err
	}
	info, _ := json.Marshal(struct {
		Version string
		Time    time.Time
	}{version, time.Now().UTC().Truncate(time.Second)})
	for name, data := range map[string][]byte{"list": []byte(version + "\n"), version + ".info": info, version + ".mod": gomod} {
		if err := os.WriteFile(filepath.Join(at, name), data, 0o644); err != nil {
			return "", err
		}
	}
	f, err := os.Create(filepath.Join(at, version+".zip"))
	if err != nil {
		return "", err
	}
	if err := zip.CreateFromDir(f, mv, dir); err != nil {
		f.Close()
		return "", err
	}
	return path, f.Close()
}
