// Command fake_sumdb is a fake Go checksum database (sumdb) for cellar's
// integration tests. It serves the real sumdb protocol (signed tree heads,
// lookups, hash and data tiles) with golang.org/x/mod/sumdb, under a freshly
// generated signing key, for the modules of a GOPROXY file tree.
//
// Usage:
//
//	fake_sumdb -proxy DIR -name NAME -port-file F -log F -key-file F [-preload]
//
//	-proxy DIR      GOPROXY file tree: <case-encoded module>/@v/<version>.{zip,mod}
//	                (as written by tests/integration/make_go_modules.py).
//	-name NAME      database name, e.g. sum.example.test (host[/path]).
//	-key-file F     receives the verifier key "NAME+<hash>+<key>", the value
//	                for GOSUMDB="<vkey>" or GOSUMDB="<vkey> <url>".
//	-port-file F    receives the TCP port (listens on 127.0.0.1:0); written
//	                (atomically, via rename) once the server accepts connections.
//	-log F          one line "<METHOD> <path>" per request, appended and
//	                flushed before the answer is sent.
//	-preload        add every module version to the log at start-up (sorted),
//	                so the tree never grows; default: a record is added on its
//	                first lookup, like the real sum.golang.org.
//	-pad N          add N synthetic records (pad.example.test/pNNNN v1.0.0)
//	                first, so the tree is big enough (>= 256) for full tiles.
//
// The go.sum lines of every module version in DIR ("<mod> <ver> h1:..." from
// the zip, "<mod> <ver>/go.mod h1:..." from the .mod file) are computed
// eagerly at start-up and kept in memory, so a test may tamper with the
// files in DIR (or have the proxy serve tampered ones) afterwards and the
// database still reports the original hashes. Versions not in DIR at
// start-up are looked up lazily from DIR on first lookup. Unknown module
// versions get 404.
//
// Paths are served both plain (/lookup/<mod>@<ver>, /latest, /tile/...) and
// with the proxy prefix /sumdb/<NAME>/ (stripped). /supported is NOT served
// (404): a real checksum database does not serve it, only proxies do.
//
// SIGTERM / SIGINT: graceful shutdown, exit 0.
//
// Build offline in GOPATH mode against Debian's golang-golang-x-mod-dev:
// tests/integration/build_fake_sumdb.sh OUTDIR.
package main

import (
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/mod/sumdb"
	"golang.org/x/mod/sumdb/dirhash"
	"golang.org/x/mod/sumdb/note"
)

var (
	proxyDir string

	sumsMu sync.Mutex
	sums   = map[string][]byte{} // "<path>@<version>" -> go.sum lines

	logMu   sync.Mutex
	logFile *os.File
)

// computeSum returns the go.sum lines for path@vers from the files in proxyDir,
// or an error satisfying os.IsNotExist when neither the zip nor the .mod exists.
func computeSum(path, vers string) ([]byte, error) {
	escPath, err := module.EscapePath(path)
	if err != nil {
		return nil, notFound(path + "@" + vers)
	}
	escVers, err := module.EscapeVersion(vers)
	if err != nil {
		return nil, notFound(path + "@" + vers)
	}
	base := filepath.Join(proxyDir, filepath.FromSlash(escPath), "@v", escVers)
	var out []byte
	if _, err := os.Stat(base + ".zip"); err == nil {
		h, err := dirhash.HashZip(base+".zip", dirhash.Hash1)
		if err != nil {
			return nil, fmt.Errorf("hashing %s.zip: %v", base, err)
		}
		out = append(out, fmt.Sprintf("%s %s %s\n", path, vers, h)...)
	}
	if data, err := os.ReadFile(base + ".mod"); err == nil {
		h, err := dirhash.Hash1([]string{"go.mod"}, func(string) (io.ReadCloser, error) {
			return io.NopCloser(strings.NewReader(string(data))), nil
		})
		if err != nil {
			return nil, err
		}
		out = append(out, fmt.Sprintf("%s %s/go.mod %s\n", path, vers, h)...)
	}
	if len(out) == 0 {
		return nil, notFound(path + "@" + vers)
	}
	return out, nil
}

func notFound(what string) error {
	// sumdb.Server maps os.IsNotExist errors to 404 (anything else is 500).
	return &fs.PathError{Op: "lookup", Path: what, Err: fs.ErrNotExist}
}

// gosum is the TestServer callback. Cached answers win over the files.
func gosum(path, vers string) ([]byte, error) {
	key := path + "@" + vers
	sumsMu.Lock()
	data, ok := sums[key]
	sumsMu.Unlock()
	if ok {
		return data, nil
	}
	data, err := computeSum(path, vers)
	if err != nil {
		return nil, err
	}
	sumsMu.Lock()
	if old, ok := sums[key]; ok {
		data = old
	} else {
		sums[key] = data
	}
	sumsMu.Unlock()
	return data, nil
}

// scan computes the go.sum lines of every module version in proxyDir and
// returns the module versions found, sorted.
func scan() ([]module.Version, error) {
	seen := map[module.Version]bool{}
	err := filepath.WalkDir(proxyDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		name := d.Name()
		ext := filepath.Ext(name)
		if ext != ".zip" && ext != ".mod" {
			return nil
		}
		vdir := filepath.Dir(p)
		if filepath.Base(vdir) != "@v" {
			return nil
		}
		rel, err := filepath.Rel(proxyDir, filepath.Dir(vdir))
		if err != nil {
			return err
		}
		path, err := module.UnescapePath(filepath.ToSlash(rel))
		if err != nil {
			return nil // not a module directory
		}
		vers, err := module.UnescapeVersion(strings.TrimSuffix(name, ext))
		if err != nil {
			return nil
		}
		seen[module.Version{Path: path, Version: vers}] = true
		return nil
	})
	if err != nil {
		return nil, err
	}
	var list []module.Version
	for m := range seen {
		list = append(list, m)
	}
	sort.Slice(list, func(i, j int) bool {
		if list[i].Path != list[j].Path {
			return list[i].Path < list[j].Path
		}
		return list[i].Version < list[j].Version
	})
	for _, m := range list {
		data, err := computeSum(m.Path, m.Version)
		if err != nil {
			return nil, err
		}
		sums[m.Path+"@"+m.Version] = data
	}
	return list, nil
}

func logRequest(r *http.Request) {
	logMu.Lock()
	defer logMu.Unlock()
	fmt.Fprintf(logFile, "%s %s\n", r.Method, r.URL.RequestURI())
	logFile.Sync()
}

// writeFileAtomic writes data to path via a temporary file and rename.
func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("fake_sumdb: ")
	flag.StringVar(&proxyDir, "proxy", "", "GOPROXY file tree")
	name := flag.String("name", "", "checksum database name (host[/path])")
	portFile := flag.String("port-file", "", "file receiving the listening port")
	logPath := flag.String("log", "", "request log file")
	keyFile := flag.String("key-file", "", "file receiving the verifier key")
	preload := flag.Bool("preload", false, "add every module version to the tree at start-up")
	pad := flag.Int("pad", 0, "synthetic records added first, so full tiles exist")
	flag.Parse()
	if proxyDir == "" || *name == "" || *portFile == "" || *logPath == "" || *keyFile == "" || flag.NArg() != 0 {
		log.Fatal("usage: fake_sumdb -proxy DIR -name NAME -port-file F -log F -key-file F [-preload] [-pad N]")
	}
	var err error
	if proxyDir, err = filepath.Abs(proxyDir); err != nil {
		log.Fatal(err)
	}

	skey, vkey, err := note.GenerateKey(rand.Reader, *name)
	if err != nil {
		log.Fatalf("generating key: %v", err)
	}
	mods, err := scan()
	if err != nil {
		log.Fatalf("scanning %s: %v", proxyDir, err)
	}
	ops := sumdb.NewTestServer(skey, gosum)
	for i := 0; i < *pad; i++ {
		m := module.Version{Path: fmt.Sprintf("pad.example.test/p%04d", i), Version: "v1.0.0"}
		sumsMu.Lock()
		sums[m.Path+"@"+m.Version] = []byte(fmt.Sprintf("%s v1.0.0 h1:%044d\n%s v1.0.0/go.mod h1:%044d\n", m.Path, i, m.Path, i))
		sumsMu.Unlock()
		if _, err := ops.Lookup(context.Background(), m); err != nil {
			log.Fatalf("padding: %v", err)
		}
	}
	if *preload {
		for _, m := range mods {
			if _, err := ops.Lookup(context.Background(), m); err != nil {
				log.Fatalf("preloading %v: %v", m, err)
			}
		}
	}
	srv := sumdb.NewServer(ops)

	logFile, err = os.OpenFile(*logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		log.Fatal(err)
	}
	if err := writeFileAtomic(*keyFile, []byte(vkey+"\n")); err != nil {
		log.Fatal(err)
	}

	prefix := "/sumdb/" + *name
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		logRequest(r)
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		if strings.HasPrefix(r.URL.Path, prefix+"/") {
			r2 := r.Clone(r.Context())
			r2.URL.Path = strings.TrimPrefix(r.URL.Path, prefix)
			r2.URL.RawPath = ""
			r = r2
		}
		srv.ServeHTTP(w, r)
	})

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	hs := &http.Server{Handler: handler, ReadHeaderTimeout: 30 * time.Second}
	port := ln.Addr().(*net.TCPAddr).Port
	if err := writeFileAtomic(*portFile, []byte(fmt.Sprintf("%d\n", port))); err != nil {
		log.Fatal(err)
	}
	log.Printf("serving %d module versions from %s as %s on 127.0.0.1:%d", len(mods), proxyDir, *name, port)

	done := make(chan struct{})
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
		<-sig
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		hs.Shutdown(ctx)
		close(done)
	}()
	if err := hs.Serve(ln); err != nil && err != http.ErrServerClosed {
		log.Fatal(err)
	}
	<-done
}
