// -api s3 of turbo_loadgen: the artifacts PUT to and GET from an S3 server
// directly, the ceiling for cellar on --storage s3 in bench/s3_bench.sh.
//
// Requests are signed here with AWS Signature Version 4 in the Authorization
// header (the algorithm as AWS documents it: canonical request, string to
// sign, a signing key derived from the secret by an HMAC-SHA256 chain), so
// the load generator stays on the standard library and spends on signing
// what any S3 client must: two SHA-256 and six HMACs per request (the key
// chain is cached per day), plus the body's SHA-256 with -s3-payload sha256.
package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"time"
)

const (
	unsignedPayload = "UNSIGNED-PAYLOAD"
	emptySHA256     = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
)

// sigV4 signs S3 requests for one key pair and region.
type sigV4 struct {
	accessKey, secretKey, sessionToken, region string

	mu     sync.Mutex
	keyDay string // the day key was derived for (YYYYMMDD); guarded by mu
	key    []byte
}

func signerFromEnv() (*sigV4, error) {
	s := &sigV4{accessKey: os.Getenv("AWS_ACCESS_KEY_ID"), secretKey: os.Getenv("AWS_SECRET_ACCESS_KEY"),
		sessionToken: os.Getenv("AWS_SESSION_TOKEN"), region: os.Getenv("AWS_REGION")}
	if s.region == "" {
		s.region = "us-east-1"
	}
	if s.accessKey == "" || s.secretKey == "" {
		return nil, errors.New("-api s3 needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
	}
	return s, nil
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

func sha256Hex(data string) string {
	d := sha256.Sum256([]byte(data))
	return hex.EncodeToString(d[:])
}

// signingKey is HMAC("AWS4"+secret, day) -> region -> "s3" -> "aws4_request".
func (s *sigV4) signingKey(day string) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.keyDay != day {
		k := hmacSHA256([]byte("AWS4"+s.secretKey), day)
		k = hmacSHA256(k, s.region)
		k = hmacSHA256(k, "s3")
		s.key = hmacSHA256(k, "aws4_request")
		s.keyDay = day
	}
	return s.key
}

// uriEncode percent-encodes every byte but A-Z a-z 0-9 - . _ ~ (and '/'
// when keepSlash), upper-case hex, as SigV4's canonical forms require.
func uriEncode(s string, keepSlash bool) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' || (keepSlash && c == '/') {
			b.WriteByte(c)
			continue
		}
		b.WriteString("%" + strings.ToUpper(hex.EncodeToString([]byte{c})))
	}
	return b.String()
}

// canonicalQuery sorts the query's pairs by encoded name, then value.
func canonicalQuery(q url.Values) string {
	pairs := make([]string, 0, len(q))
	for name, values := range q {
		for _, v := range values {
			pairs = append(pairs, uriEncode(name, false)+"="+uriEncode(v, false))
		}
	}
	sort.Strings(pairs)
	return strings.Join(pairs, "&")
}

// sign adds x-amz-date, x-amz-content-sha256 (payloadHash), the session
// token if any, and the Authorization header. It signs host, every x-amz-*
// header and the headers named in extra (lower case, already set on req).
// req.URL.Path must be the decoded path (it is encoded here).
func (s *sigV4) sign(req *http.Request, payloadHash string, now time.Time, extra ...string) {
	amzDate := now.UTC().Format("20060102T150405Z")
	day := amzDate[:8]
	req.Header.Set("x-amz-date", amzDate)
	req.Header.Set("x-amz-content-sha256", payloadHash)
	if s.sessionToken != "" {
		req.Header.Set("x-amz-security-token", s.sessionToken)
	}
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	values := map[string]string{"host": host}
	for name, v := range req.Header {
		lower := strings.ToLower(name)
		if strings.HasPrefix(lower, "x-amz-") {
			values[lower] = strings.TrimSpace(strings.Join(v, ","))
		}
	}
	for _, name := range extra {
		values[name] = strings.TrimSpace(req.Header.Get(name))
	}
	names := make([]string, 0, len(values))
	for name := range values {
		names = append(names, name)
	}
	sort.Strings(names)
	var canonHeaders strings.Builder
	for _, name := range names {
		canonHeaders.WriteString(name + ":" + values[name] + "\n")
	}
	signed := strings.Join(names, ";")
	path := req.URL.Path
	if path == "" {
		path = "/"
	}
	canonical := strings.Join([]string{req.Method, uriEncode(path, true), canonicalQuery(req.URL.Query()),
		canonHeaders.String(), signed, payloadHash}, "\n")
	scope := day + "/" + s.region + "/s3/aws4_request"
	toSign := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n" + sha256Hex(canonical)
	sig := hex.EncodeToString(hmacSHA256(s.signingKey(day), toSign))
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+s.accessKey+"/"+scope+
		", SignedHeaders="+signed+", Signature="+sig)
}

// s3Transfer PUTs or GETs <base>/<hash>. base is endpoint/bucket[/prefix].
// With manifestBytes > 0, every successful PUT is followed by a PUT of that
// many bytes to <base>/entries/<hash>: the two requests a write-through
// cache with one small entry object per artifact makes at least.
func s3Transfer(mode, base string, signer *sigV4, hashPayload bool, manifestBytes int, client *http.Client,
	checker *getChecker) transfer {
	base = strings.TrimRight(base, "/")
	putManifest := func(a *artifact, st *statusCounter) error {
		body := strings.Repeat("m", manifestBytes)
		req, err := http.NewRequest(http.MethodPut, base+"/entries/"+a.hash, strings.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		signer.sign(req, unsignedPayload, time.Now())
		resp, err := st.do(client, req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		return drainAnswer(resp, 200)
	}
	return func(a *artifact, buf []byte, st *statusCounter) (int64, error) {
		var req *http.Request
		var err error
		if mode == "put" {
			payload := unsignedPayload
			if hashPayload {
				// A client signing its payload reads the body twice.
				payload = expectedSHA256(a)
			}
			req, err = http.NewRequest(http.MethodPut, base+"/"+a.hash, &bodyReader{a: a})
			if err != nil {
				return 0, err
			}
			req.ContentLength = a.size
			req.Header.Set("Content-Type", "application/octet-stream")
			signer.sign(req, payload, time.Now())
		} else {
			req, err = http.NewRequest(http.MethodGet, base+"/"+a.hash, nil)
			if err != nil {
				return 0, err
			}
			signer.sign(req, emptySHA256, time.Now())
		}
		resp, err := st.do(client, req)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		if mode == "put" {
			if err := drainAnswer(resp, 200); err != nil || manifestBytes == 0 {
				return 0, err
			}
			return 0, putManifest(a, st)
		}
		return checker.check(resp, a, buf)
	}
}
