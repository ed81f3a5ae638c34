// turbo_loadgen: load generator for the benchmarks of cellar's artifact
// APIs: bench/turbo_bench.sh (cellar's Turborepo remote cache against
// turborepo-remote-cache) and bench/s3_bench.sh (cellar on the local disk
// against cellar on S3 against the S3 server itself). Standard library only;
// the scripts build it in a temporary module (go 1.19+, no network) from
// bench/turbo_loadgen*.go.
//
//	turbo_loadgen -mode sizes   -n N -seed S
//	turbo_loadgen -mode put|get -base URL -set NAME -n N -conc C -seed S [-token T] [-slug TEAM] [-api API]
//	turbo_loadgen -mode put|get -base URL -set NAME -size BYTES -seed S ...   (one artifact)
//	turbo_loadgen -mode put|get -base URL -set NAME -n N -each BYTES ...      (N of one size)
//	turbo_loadgen -mode files -dir DIR -set NAME -n N -conc C [-fsync=false]
//
// -api says what URL and protocol carry the artifacts:
//
//   - turbo (default): URL is the Turborepo API base (TURBO_API), e.g.
//     http://127.0.0.1:8080/turbo; requests go to URL/v8/artifacts/<hash>?slug=TEAM
//     with "Authorization: Bearer T" (when -token is set), like the turbo CLI
//     sends them.
//   - s3: URL is an S3 endpoint, bucket and key prefix in path style, e.g.
//     http://127.0.0.1:7480/bucket/some/prefix; objects are URL/<hash>, every
//     request signed with SigV4 (turbo_loadgen_s3.go) with the credentials in
//     AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (AWS_SESSION_TOKEN) and
//     AWS_REGION. Uploads send UNSIGNED-PAYLOAD as cellar does, or the body's
//     SHA-256 with -s3-payload sha256.
//   - negotiate, negotiate-presigned: URL is a cellar server's root; artifacts
//     move through its negotiate API (turbo_loadgen_negotiate.go): cellar's
//     own signed /v1/blobs URLs, or (presigned) URLs of its object store plus
//     a commit.
//
// Artifacts: N sizes drawn once from a fixed seeded distribution (the same
// sizes for every set, so every set moves the same bytes): 70% 10-100 KiB, 20%
// 100 KiB-1 MiB, 8% 1-5 MiB, 2% 5-10 MiB, log-uniform inside each band. With
// -size, one artifact of that size instead; with -each, N artifacts of that
// size. The hash (16 lowercase hex characters, as turbo sends) and the
// content are derived from (seed, set, index), so a new set name gives new
// hashes (real writes) and put/get of the same set agree without shared
// state. Content is incompressible (like turbo's zstd tarballs): a 16-byte
// header naming the artifact, then 1 MiB blocks cut from a 64 MiB
// pseudo-random pool at per-(artifact, block) offsets. Bodies are produced
// while they are sent and checked while they are received, so even a 500 MiB
// artifact is never held in memory.
//
// put sends every artifact once (with its Content-Length) and wants a success
// answer. get fetches each and compares every byte with what was sent (so
// wrong, truncated or padded bodies count as errors), and checks the SHA-256
// of a sample of bodies (every 50th up to 16 MiB) against the SHA-256 of the
// artifact computed before the clock started.
//
// Work is a closed loop: C workers, one keep-alive connection per server
// each, take the next artifact (in a seeded shuffled order) until all are
// done. Prints one JSON line: requests, errors, bytes, seconds, req/s, MB/s
// (10^6 bytes), p50/p99/max latency in ms (request sent to last body byte
// received; for negotiate, from the negotiation of one artifact to its commit
// or last byte).
//
// files is the machine's ceiling for a durable upload, with no HTTP and no
// server: C workers write the same artifacts straight to files under DIR the
// way a careful store does (create a temp file, write, fsync, rename to
// DIR/<2 hex>/<hash>). A server that answers a PUT only once the artifact is
// on disk cannot beat it on this machine; -fsync=false shows what skipping the
// fsync buys (the peer's way).
package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"hash"
	"io"
	"math"
	"math/rand"
	"net"
	"net/http"
	"os"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

const (
	poolSize  = 64 << 20
	blockSize = 1 << 20
	headerLen = 16
)

var pool []byte

func makePool(seed int64) {
	pool = make([]byte, poolSize)
	r := rand.New(rand.NewSource(seed ^ 0x5eed))
	for i := 0; i < poolSize; i += 8 {
		binary.LittleEndian.PutUint64(pool[i:], r.Uint64())
	}
}

// artifact is one cache entry: its hash and the recipe of its bytes.
type artifact struct {
	hash string
	id   uint64 // content id: selects the header and the pool offsets
	size int64
}

func splitmix(x uint64) uint64 {
	x += 0x9E3779B97F4A7C15
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9
	x = (x ^ (x >> 27)) * 0x94D049BB133111EB
	return x ^ (x >> 31)
}

func newArtifact(seed int64, set string, index int, size int64) artifact {
	d := sha256.Sum256([]byte(fmt.Sprintf("turbo-bench/%d/%s/%d", seed, set, index)))
	return artifact{hash: hex.EncodeToString(d[:8]), id: binary.LittleEndian.Uint64(d[8:16]), size: size}
}

// byteAt-free access: segment returns the bytes of the artifact starting at
// pos, up to the end of the current header or block.
func (a *artifact) segment(pos int64, hdr *[headerLen]byte) []byte {
	if pos < headerLen {
		binary.LittleEndian.PutUint64(hdr[0:], a.id)
		binary.LittleEndian.PutUint64(hdr[8:], uint64(a.size))
		end := int64(headerLen)
		if end > a.size {
			end = a.size
		}
		return hdr[pos:end]
	}
	block := (pos - headerLen) / blockSize
	within := (pos - headerLen) % blockSize
	n := int64(blockSize) - within
	if rest := a.size - pos; rest < n {
		n = rest
	}
	off := int64(splitmix(a.id^uint64(block)*0x2545F4914F6CDD1D) % uint64(poolSize-blockSize))
	return pool[off+within : off+within+n]
}

// bodyReader produces an artifact's bytes on the fly.
type bodyReader struct {
	a   *artifact
	pos int64
	hdr [headerLen]byte
}

func (r *bodyReader) Read(p []byte) (int, error) {
	if r.pos >= r.a.size {
		return 0, io.EOF
	}
	n := 0
	for n < len(p) && r.pos < r.a.size {
		c := copy(p[n:], r.a.segment(r.pos, &r.hdr))
		n += c
		r.pos += int64(c)
	}
	return n, nil
}

// checkBody reads a response body and compares it with the artifact.
func checkBody(body io.Reader, a *artifact, buf []byte, h hash.Hash) (int64, error) {
	var pos int64
	var hdr [headerLen]byte
	for {
		n, err := body.Read(buf)
		if n > 0 {
			if pos+int64(n) > a.size {
				return pos + int64(n), fmt.Errorf("body longer than %d bytes", a.size)
			}
			if h != nil {
				h.Write(buf[:n])
			}
			chunk := buf[:n]
			for len(chunk) > 0 {
				want := a.segment(pos, &hdr)
				if len(want) > len(chunk) {
					want = want[:len(chunk)]
				}
				if !bytes.Equal(chunk[:len(want)], want) {
					return pos, fmt.Errorf("body differs from what was stored near byte %d", pos)
				}
				chunk = chunk[len(want):]
				pos += int64(len(want))
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return pos, err
		}
	}
	if pos != a.size {
		return pos, fmt.Errorf("body is %d bytes, stored %d", pos, a.size)
	}
	return pos, nil
}

// writeFile stores one artifact as a durable store would: temp file, write,
// fsync (unless told not to), rename under a two-hex fan-out directory.
func writeFile(dir string, a *artifact, buf []byte, sync bool) error {
	tmp := dir + "/tmp/" + a.hash
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	_, err = io.CopyBuffer(struct{ io.Writer }{f}, &bodyReader{a: a}, buf)
	if err == nil && sync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		fanout := dir + "/" + a.hash[:2]
		if err = os.MkdirAll(fanout, 0o755); err == nil {
			err = os.Rename(tmp, fanout+"/"+a.hash)
		}
	}
	return err
}

func expectedSHA256(a *artifact) string {
	h := sha256.New()
	io.Copy(h, &bodyReader{a: a})
	return hex.EncodeToString(h.Sum(nil))
}

// sizes draws n artifact sizes from the fixed distribution.
func sizes(n int, seed int64) []int64 {
	r := rand.New(rand.NewSource(seed))
	bands := []struct {
		share  float64
		lo, hi float64
	}{{0.70, 10 << 10, 100 << 10}, {0.20, 100 << 10, 1 << 20}, {0.08, 1 << 20, 5 << 20}, {0.02, 5 << 20, 10 << 20}}
	out := make([]int64, n)
	for i := range out {
		u := r.Float64()
		b := bands[len(bands)-1]
		for _, c := range bands {
			if u < c.share {
				b = c
				break
			}
			u -= c.share
		}
		out[i] = int64(math.Exp(math.Log(b.lo) + r.Float64()*(math.Log(b.hi)-math.Log(b.lo))))
	}
	return out
}

type result struct {
	Mode       string         `json:"mode"`
	API        string         `json:"api,omitempty"`
	Set        string         `json:"set"`
	Conc       int            `json:"conc"`
	Requests   int            `json:"requests"`
	Errors     int            `json:"errors"`
	Bytes      int64          `json:"bytes"`
	Seconds    float64        `json:"seconds"`
	RPS        float64        `json:"rps"`
	MBps       float64        `json:"mbps"`
	P50ms      float64        `json:"p50_ms"`
	P99ms      float64        `json:"p99_ms"`
	MaxMs      float64        `json:"max_ms"`
	Verified   int64          `json:"verified_bytes,omitempty"`
	SHAChecked int            `json:"sha256_checked,omitempty"`
	Statuses   map[string]int `json:"statuses"`
	ClientCPU  float64        `json:"client_cpu_s"`
	FirstErr   string         `json:"first_error,omitempty"`
	// negotiate: answers by where their URL pointed (cellar, object store)
	// and by status (skipped, missing, ...).
	Via map[string]int `json:"via,omitempty"`
}

// printSizes prints the size distribution of a set as one JSON line.
func printSizes(sz []int64) {
	var total, lo, hi int64
	lo = math.MaxInt64
	bands := map[string]int{"10K-100K": 0, "100K-1M": 0, "1M-5M": 0, "5M-10M": 0}
	for _, s := range sz {
		total += s
		if s < lo {
			lo = s
		}
		if s > hi {
			hi = s
		}
		switch {
		case s < 100<<10:
			bands["10K-100K"]++
		case s < 1<<20:
			bands["100K-1M"]++
		case s < 5<<20:
			bands["1M-5M"]++
		default:
			bands["5M-10M"]++
		}
	}
	sorted := append([]int64(nil), sz...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	json.NewEncoder(os.Stdout).Encode(map[string]interface{}{
		"n": len(sz), "total_bytes": total, "min": lo, "max": hi, "median": sorted[len(sorted)/2],
		"mean": total / int64(len(sz)), "bands": bands})
}

func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	if i < 0 {
		i = 0
	}
	return sorted[i]
}

// getChecker checks GET bodies against the artifacts, hashing a sample.
type getChecker struct {
	mu         sync.Mutex
	shaWant    map[string]string // hash -> SHA-256 of the sampled artifacts
	shaChecked int
}

// check reads a GET answer's body and compares it with the artifact; it
// returns the bytes received.
func (c *getChecker) check(resp *http.Response, a *artifact, buf []byte) (int64, error) {
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		io.Copy(io.Discard, resp.Body)
		return 0, fmt.Errorf("HTTP %d: %.200s", resp.StatusCode, msg)
	}
	want, sample := c.shaWant[a.hash]
	var h hash.Hash
	if sample {
		h = sha256.New()
	}
	got, err := checkBody(resp.Body, a, buf, h)
	if err == nil && resp.ContentLength >= 0 && resp.ContentLength != a.size {
		err = fmt.Errorf("Content-Length %d, stored %d", resp.ContentLength, a.size)
	}
	if err == nil && sample {
		if hex.EncodeToString(h.Sum(nil)) != want {
			err = errors.New("SHA-256 of the body differs from the stored artifact's")
		}
		c.mu.Lock()
		c.shaChecked++
		c.mu.Unlock()
	}
	return got, err
}

// drainAnswer reads a PUT answer and fails unless its status is one of ok.
func drainAnswer(resp *http.Response, ok ...int) error {
	msg, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	io.Copy(io.Discard, resp.Body)
	if err != nil {
		return err
	}
	for _, code := range ok {
		if resp.StatusCode == code {
			return nil
		}
	}
	return fmt.Errorf("HTTP %d: %.200s", resp.StatusCode, msg)
}

// transfer moves one artifact (a PUT or a GET of it, through whatever API)
// and returns the body bytes it verified (GET) and the HTTP statuses it saw.
type transfer func(a *artifact, buf []byte, statuses *statusCounter) (int64, error)

// statusCounter counts answers by HTTP status ("conn" for no answer).
type statusCounter struct {
	mu sync.Mutex
	m  map[string]int
}

func (s *statusCounter) add(key string) {
	s.mu.Lock()
	s.m[key]++
	s.mu.Unlock()
}

// do sends req and counts its status.
func (s *statusCounter) do(client *http.Client, req *http.Request) (*http.Response, error) {
	resp, err := client.Do(req)
	if err != nil {
		s.add("conn")
		return nil, err
	}
	s.add(strconv.Itoa(resp.StatusCode))
	return resp, nil
}

// turboTransfer is the Turborepo API: PUT and GET /v8/artifacts/<hash>.
func turboTransfer(mode, base, slug, token string, client *http.Client, checker *getChecker) transfer {
	query := ""
	if slug != "" {
		query = "?slug=" + slug
	}
	return func(a *artifact, buf []byte, st *statusCounter) (int64, error) {
		url := base + "/v8/artifacts/" + a.hash + query
		var req *http.Request
		if mode == "put" {
			req, _ = http.NewRequest(http.MethodPut, url, &bodyReader{a: a})
			req.ContentLength = a.size
			req.Header.Set("Content-Type", "application/octet-stream")
			req.Header.Set("x-artifact-duration", strconv.Itoa(100+int(a.id%5000)))
		} else {
			req, _ = http.NewRequest(http.MethodGet, url, nil)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := st.do(client, req)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		if mode == "put" {
			return 0, drainAnswer(resp, 200, 202)
		}
		return checker.check(resp, a, buf)
	}
}

func main() {
	mode := flag.String("mode", "", "sizes, put, get or files")
	api := flag.String("api", "turbo", "put/get through: turbo, s3, negotiate or negotiate-presigned")
	base := flag.String("base", "", "base URL (see -api)")
	set := flag.String("set", "", "artifact set name (new name = new hashes)")
	n := flag.Int("n", 1000, "number of artifacts")
	size := flag.Int64("size", 0, "one artifact of this many bytes instead of the mixed set")
	each := flag.Int64("each", 0, "N artifacts of this many bytes each instead of the mixed set")
	conc := flag.Int("conc", 1, "concurrent connections")
	seed := flag.Int64("seed", 20260101, "seed of sizes, order and content")
	token := flag.String("token", "", "bearer token")
	slug := flag.String("slug", "bench", "team slug")
	dir := flag.String("dir", "", "files mode: where the artifacts are written")
	fsync := flag.Bool("fsync", true, "files mode: fsync every file before renaming it")
	s3Payload := flag.String("s3-payload", "unsigned", "s3 uploads: unsigned (UNSIGNED-PAYLOAD) or sha256")
	s3Manifest := flag.Int("s3-manifest-bytes", 0, "s3 uploads: also PUT an object of this many bytes per artifact (entries/<hash>)")
	namespace := flag.String("namespace", "", "negotiate: the namespace of the artifacts")
	timeout := flag.Duration("timeout", 10*time.Minute, "per-request timeout")
	flag.Parse()

	var sz []int64
	if *size > 0 {
		sz = []int64{*size}
	} else if *each > 0 {
		sz = make([]int64, *n)
		for i := range sz {
			sz[i] = *each
		}
	} else {
		sz = sizes(*n, *seed)
	}
	if *mode == "sizes" {
		printSizes(sz)
		return
	}
	files := *mode == "files"
	apiOK := *api == "turbo" || *api == "s3" || *api == "negotiate" || *api == "negotiate-presigned"
	if (*mode != "put" && *mode != "get" && !files) || (*base == "") == !files || (*dir == "") == files ||
		*set == "" || *conc < 1 || !apiOK || (*s3Payload != "unsigned" && *s3Payload != "sha256") {
		fmt.Fprintln(os.Stderr, "usage: turbo_loadgen -mode put|get -base URL -set NAME [-n N [-each BYTES] | -size BYTES] [-conc C] [-token T] [-slug TEAM]\n"+
			"           [-api turbo|s3|negotiate|negotiate-presigned] [-s3-payload unsigned|sha256] [-namespace NS]\n"+
			"       turbo_loadgen -mode files -dir DIR -set NAME [-n N | -size BYTES] [-conc C] [-fsync=false]")
		os.Exit(2)
	}
	if files {
		if err := os.MkdirAll(*dir+"/tmp", 0o755); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	makePool(*seed)
	arts := make([]artifact, len(sz))
	for i, s := range sz {
		arts[i] = newArtifact(*seed, *set, i, s)
	}
	order := rand.New(rand.NewSource(*seed + int64(len(*set)) + int64(*conc))).Perm(len(arts))
	if *mode == "get" {
		// A different order from the PUTs, as a later build would ask.
		order = rand.New(rand.NewSource(*seed*31 + 7)).Perm(len(arts))
	}

	// One keep-alive connection per worker and server (negotiate talks to
	// cellar and to the object store).
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
		MaxIdleConns:        2 * *conc,
		MaxIdleConnsPerHost: *conc,
		MaxConnsPerHost:     *conc,
		DisableCompression:  true,
		WriteBufferSize:     256 << 10,
		// Small, so that body reads (into a 256 KiB buffer) bypass it and go
		// straight from the socket: with a 256 KiB read buffer every body
		// shorter than that was copied twice, ~12% of the generator's CPU,
		// which it shares with the server under test.
		ReadBufferSize:  4 << 10,
		IdleConnTimeout: time.Minute,
	}
	client := &http.Client{Transport: tr, Timeout: *timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	// SHA-256 sample, computed before the clock starts: every 50th artifact
	// of the GET order up to 16 MiB (all bodies are also compared byte by byte).
	checker := &getChecker{shaWant: map[string]string{}}
	if *mode == "get" {
		for i, k := range order {
			if i%50 == 0 && arts[k].size <= 16<<20 {
				checker.shaWant[arts[k].hash] = expectedSHA256(&arts[k])
			}
		}
	}
	var xfer transfer
	var neg *negotiator
	switch {
	case files:
	case *api == "turbo":
		xfer = turboTransfer(*mode, *base, *slug, *token, client, checker)
	case *api == "s3":
		signer, err := signerFromEnv()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		xfer = s3Transfer(*mode, *base, signer, *s3Payload == "sha256", *s3Manifest, client, checker)
	default:
		neg = &negotiator{base: *base, token: *token, namespace: *namespace,
			presigned: *api == "negotiate-presigned", client: client, checker: checker}
		if *mode == "put" {
			// The declared SHA-256 of every upload, known before the
			// transfer as a client's local cache knows it (cellar run keeps
			// it beside each artifact), so it is computed before the clock.
			neg.sha256 = map[string]string{}
			for i := range arts {
				neg.sha256[arts[i].hash] = expectedSHA256(&arts[i])
			}
		}
		xfer = neg.transfer(*mode)
	}

	var (
		next      int64 = -1
		mu        sync.Mutex
		latencies = make([]float64, 0, len(arts))
		errCount  int
		firstErr  string
		bytesDone int64
		verified  int64
		statuses  = &statusCounter{m: map[string]int{}}
	)
	fail := func(a *artifact, err error) {
		mu.Lock()
		errCount++
		if firstErr == "" {
			firstErr = fmt.Sprintf("%s %s: %v", *mode, a.hash, err)
		}
		mu.Unlock()
	}
	cpu := func() float64 {
		var ru syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
	}
	cpu0 := cpu()
	start := time.Now()
	if neg != nil && *mode == "get" {
		// Downloads are looked up first, all in batches, as cellar run does;
		// the lookups are part of the measured work.
		if err := neg.lookupAll(arts, statuses); err != nil {
			fmt.Fprintln(os.Stderr, "negotiate lookups:", err)
			os.Exit(1)
		}
	}
	var wg sync.WaitGroup
	for w := 0; w < *conc; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			buf := make([]byte, 256<<10)
			for {
				i := atomic.AddInt64(&next, 1)
				if i >= int64(len(order)) {
					return
				}
				a := &arts[order[i]]
				t0 := time.Now()
				var got int64
				var err error
				if files {
					err = writeFile(*dir, a, buf, *fsync)
				} else {
					got, err = xfer(a, buf, statuses)
				}
				ms := float64(time.Since(t0).Microseconds()) / 1000
				if err != nil {
					fail(a, err)
					continue
				}
				mu.Lock()
				latencies = append(latencies, ms)
				bytesDone += a.size
				verified += got
				mu.Unlock()
			}
		}(w)
	}
	wg.Wait()
	secs := time.Since(start).Seconds()
	clientCPU := cpu() - cpu0
	sort.Float64s(latencies)
	res := result{Mode: *mode, API: *api, Set: *set, Conc: *conc, Requests: len(arts), Errors: errCount, Bytes: bytesDone,
		Seconds: secs, RPS: float64(len(latencies)) / secs, MBps: float64(bytesDone) / 1e6 / secs,
		P50ms: percentile(latencies, 0.50), P99ms: percentile(latencies, 0.99),
		Statuses: statuses.m, ClientCPU: clientCPU, FirstErr: firstErr}
	if files {
		res.API = ""
	}
	if neg != nil {
		res.Via = neg.via
	}
	if len(latencies) > 0 {
		res.MaxMs = latencies[len(latencies)-1]
	}
	if *mode == "get" {
		res.Verified = verified
		res.SHAChecked = checker.shaChecked
	}
	json.NewEncoder(os.Stdout).Encode(res)
}
