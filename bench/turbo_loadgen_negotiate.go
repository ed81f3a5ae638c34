// -api negotiate and negotiate-presigned of turbo_loadgen: artifacts moved
// through cellar's negotiate API (docs/protocols/negotiate.md) the way
// cellar run's remote cache moves them:
//
//   - put: one POST /v1/negotiate per artifact ({"hash","action":"upload",
//     "size","sha256"} plus "presigned": true for negotiate-presigned), then
//     a PUT of the body to the answer's URL with the answer's headers, then,
//     when the answer has a commit_url, a POST to it. The URL is cellar's own
//     /v1/blobs/ (the proxied path) or, with --storage s3 and presigned, a
//     staging object in the bucket.
//   - get: every artifact looked up first in batches of POST
//     /v1/negotiate/batch (download), then each URL fetched: /v1/blobs/ on
//     cellar, or a presigned GET of the bucket.
//
// The bearer token goes to cellar only, never to the object store. The
// result's "via" counts URLs by where they pointed (cellar or store), so the
// benchmark can check which path it measured.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
)

const maxBatch = 1000 // the server's limit per batch

type negotiateAnswer struct {
	Hash      string            `json:"hash"`
	Status    string            `json:"status"`
	URL       string            `json:"url"`
	Headers   map[string]string `json:"headers"`
	CommitURL string            `json:"commit_url"`
}

type negotiator struct {
	base, token, namespace string
	presigned              bool
	client                 *http.Client
	checker                *getChecker
	sha256                 map[string]string // put: hash -> declared SHA-256 (read-only)

	mu   sync.Mutex
	urls map[string]string // get: hash -> download URL, filled by lookupAll
	via  map[string]int    // URLs by target ("cellar", "store"), answers without one by status
}

// post sends a JSON body to cellar with the token; it decodes a 200 answer into out.
func (n *negotiator) post(path string, body interface{}, out interface{}, st *statusCounter) error {
	data, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequest(http.MethodPost, n.base+path, bytes.NewReader(data))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if n.token != "" {
		req.Header.Set("Authorization", "Bearer "+n.token)
	}
	resp, err := st.do(n.client, req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST %s: HTTP %d: %.200s", path, resp.StatusCode, msg)
	}
	return json.Unmarshal(msg, out)
}

// count records where an answer's URL points.
func (n *negotiator) count(a *negotiateAnswer) {
	key := "none:" + a.Status
	if a.URL != "" {
		key = "store"
		if strings.HasPrefix(a.URL, n.base+"/") {
			key = "cellar"
		}
	}
	n.mu.Lock()
	if n.via == nil {
		n.via = map[string]int{}
	}
	n.via[key]++
	n.mu.Unlock()
}

// lookupAll negotiates downloads of every artifact, in batches.
func (n *negotiator) lookupAll(arts []artifact, st *statusCounter) error {
	n.urls = make(map[string]string, len(arts))
	for first := 0; first < len(arts); first += maxBatch {
		last := first + maxBatch
		if last > len(arts) {
			last = len(arts)
		}
		items := make([]map[string]interface{}, 0, last-first)
		for i := first; i < last; i++ {
			items = append(items, map[string]interface{}{"hash": arts[i].hash, "action": "download"})
		}
		body := map[string]interface{}{"requests": items}
		if n.namespace != "" {
			body["namespace"] = n.namespace
		}
		var out struct {
			Results []negotiateAnswer `json:"results"`
		}
		if err := n.post("/v1/negotiate/batch", body, &out, st); err != nil {
			return err
		}
		for i := range out.Results {
			n.count(&out.Results[i])
			if out.Results[i].Status == "found" {
				n.urls[out.Results[i].Hash] = out.Results[i].URL
			}
		}
	}
	return nil
}

func (n *negotiator) transfer(mode string) transfer {
	if mode == "get" {
		return n.get
	}
	return n.put
}

func (n *negotiator) get(a *artifact, buf []byte, st *statusCounter) (int64, error) {
	u, ok := n.urls[a.hash]
	if !ok {
		return 0, fmt.Errorf("not found by the negotiation")
	}
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return 0, err
	}
	resp, err := st.do(n.client, req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	return n.checker.check(resp, a, buf)
}

func (n *negotiator) put(a *artifact, buf []byte, st *statusCounter) (int64, error) {
	item := map[string]interface{}{"hash": a.hash, "action": "upload", "size": a.size, "sha256": n.sha256[a.hash]}
	if n.presigned {
		item["presigned"] = true
	}
	if n.namespace != "" {
		item["namespace"] = n.namespace
	}
	var answer negotiateAnswer
	if err := n.post("/v1/negotiate", item, &answer, st); err != nil {
		return 0, err
	}
	n.count(&answer)
	if answer.Status != "upload_needed" {
		return 0, fmt.Errorf("negotiation answered %q, not upload_needed (a set name used twice?)", answer.Status)
	}
	req, err := http.NewRequest(http.MethodPut, answer.URL, &bodyReader{a: a})
	if err != nil {
		return 0, err
	}
	req.ContentLength = a.size
	for name, value := range answer.Headers {
		req.Header.Set(name, value)
	}
	if req.Header.Get("Content-Type") == "" && strings.HasPrefix(answer.URL, n.base+"/") {
		req.Header.Set("Content-Type", "application/octet-stream")
	}
	resp, err := st.do(n.client, req)
	if err != nil {
		return 0, err
	}
	// A store answers 200; cellar 201 stored (or 200 skipped).
	err = drainAnswer(resp, 200, 201)
	resp.Body.Close()
	if err != nil || answer.CommitURL == "" {
		return 0, err
	}
	req, err = http.NewRequest(http.MethodPost, answer.CommitURL, nil)
	if err != nil {
		return 0, err
	}
	resp, err = st.do(n.client, req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	return 0, drainAnswer(resp, 201)
}
