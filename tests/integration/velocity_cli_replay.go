// velocity_cli_replay: sends the requests VelocityCache's CLI sends to its
// remote cache, with the rules it applies to the answers, so the drop-in
// claim is tested without the CLI itself (its releases and Go modules are
// not reachable from CI). Go's net/http, as the CLI uses: Content-Length on
// uploads, no Expect: 100-continue, Accept-Encoding: gzip on downloads.
//
// What the CLI does (VelocityCache v3, internal/engine and internal/commands):
//   - POST <server>/v1/negotiate {"hash","action"} with Content-Type
//     application/json and "Authorization: Bearer <token>"; anything but 200
//     is an error;
//   - download: status "found" means GET the answer's url; anything else is
//     a miss;
//   - upload: status "upload_needed" means PUT the file to the url with its
//     Content-Length; "skipped" means already there;
//   - a transfer carries the token only when the url's host:port equals the
//     server's, and anything but 200 is a failed transfer.
//
// Usage: velocity_cli_replay SERVER TOKEN upload HASH FILE
//        velocity_cli_replay SERVER TOKEN download HASH OUT
// Prints one word (uploaded, skipped, hit, miss) and exits 0, or prints the
// failure and exits 1.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
)

type answer struct {
	Status string `json:"status"`
	URL    string `json:"url"`
}

func negotiate(server, token, hash, action string) (answer, error) {
	body, _ := json.Marshal(map[string]string{"hash": hash, "action": action})
	req, err := http.NewRequest(http.MethodPost, server+"/v1/negotiate", bytes.NewReader(body))
	if err != nil {
		return answer{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return answer{}, fmt.Errorf("negotiate answered HTTP %d", resp.StatusCode)
	}
	var a answer
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		return answer{}, fmt.Errorf("negotiate answer: %v", err)
	}
	return a, nil
}

func sameHost(a, b string) bool {
	ua, err1 := url.Parse(a)
	ub, err2 := url.Parse(b)
	return err1 == nil && err2 == nil && strings.EqualFold(ua.Host, ub.Host)
}

func transfer(method, target, server, token string, body io.Reader, length int64, out io.Writer) error {
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		return err
	}
	if body != nil {
		req.ContentLength = length
	}
	if token != "" && sameHost(target, server) {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("transfer failed with status %d: %s", resp.StatusCode, strings.TrimSpace(string(msg)))
	}
	if out != nil {
		_, err = io.Copy(out, resp.Body)
	}
	return err
}

func run() (string, error) {
	if len(os.Args) != 6 {
		return "", fmt.Errorf("usage: %s SERVER TOKEN upload|download HASH FILE", os.Args[0])
	}
	server, token, action, hash, path := os.Args[1], os.Args[2], os.Args[3], os.Args[4], os.Args[5]
	switch action {
	case "upload":
		a, err := negotiate(server, token, hash, "upload")
		if err != nil {
			return "", err
		}
		if a.Status == "skipped" {
			return "skipped", nil
		}
		if a.Status != "upload_needed" {
			return "", fmt.Errorf("upload negotiation answered status %q", a.Status)
		}
		f, err := os.Open(path)
		if err != nil {
			return "", err
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			return "", err
		}
		if err := transfer(http.MethodPut, a.URL, server, token, f, st.Size(), nil); err != nil {
			return "", fmt.Errorf("upload failed: %v", err)
		}
		return "uploaded", nil
	case "download":
		a, err := negotiate(server, token, hash, "download")
		if err != nil || a.Status != "found" {
			return "miss", nil // the CLI runs the task on any negotiation failure
		}
		f, err := os.Create(path)
		if err != nil {
			return "", err
		}
		defer f.Close()
		if err := transfer(http.MethodGet, a.URL, server, token, nil, 0, f); err != nil {
			return "", fmt.Errorf("download failed: %v", err)
		}
		return "hit", nil
	}
	return "", fmt.Errorf("unknown action %q", action)
}

func main() {
	word, err := run()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(word)
}
