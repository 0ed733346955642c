package acache

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/acachecontrol/acache/internal/httpsyntax"
	"github.com/acachecontrol/acache/internal/policy"
)

// keyer makes the keys of requests (RFC 9111 Section 2) and the keyed hashes
// of credentials that keep users apart.
type keyer struct {
	cfg      *config   // shared, partitionBy
	hmacPool sync.Pool // of *partitionHasher keyed with the partition secret
}

// init sets k up for a Cache configured as cfg.
func (k *keyer) init(cfg *config) {
	k.cfg = cfg
	k.setPartitionSecret(cfg.secret)
}

func (k *keyer) setPartitionSecret(secret []byte) {
	secret = append([]byte(nil), secret...)
	k.hmacPool = sync.Pool{New: func() any { return &partitionHasher{mac: hmac.New(sha256.New, secret)} }}
}

// key returns the cache key of req, or "" if req must not be served from or
// stored in the cache. See [Cache.keyFor].
func (k *keyer) key(req *http.Request) string {
	return k.keyFor(req.Method, req.URL, req.Host, k.partition(req))
}

// partition returns the partition part of req's key: a keyed hash of its
// Authorization field and of what the Cache's partition function
// ([WithPartitionBy]) returns for it, or "" when both are empty.
//
// A shared cache leaves Authorization out: it stores a response to a request
// with Authorization only when the response says that any user may reuse it
// (public, s-maxage or must-revalidate, RFC 9111 Section 3.5), and then
// serves it to other users, as the origin allowed. A private cache keeps
// each user's responses apart.
func (k *keyer) partition(req *http.Request) string {
	if k.cfg.partitionBy == nil && (k.cfg.shared || len(req.Header["Authorization"]) == 0) {
		return "" // the common case, inlined
	}
	return k.partitionOfRequest(req)
}

// partitionOfRequest is partition when there may be one.
func (k *keyer) partitionOfRequest(req *http.Request) string {
	var buf [len(partitionTag) + 32]byte
	return string(k.appendPartition(buf[:0], req))
}

// appendPartition appends the partition part of req's key to dst (see
// partition), and returns the result.
func (k *keyer) appendPartition(dst []byte, req *http.Request) []byte {
	if k.cfg.partitionBy == nil && (k.cfg.shared || len(req.Header["Authorization"]) == 0) {
		return dst
	}
	var value string
	if k.cfg.partitionBy != nil {
		value = k.cfg.partitionBy(req)
	}
	auth := req.Header["Authorization"]
	if k.cfg.shared {
		auth = nil // Section 3.5: what a shared cache stores, any user may reuse
	}
	if len(auth) == 0 && value == "" {
		return dst
	}
	return k.appendPartitionOf(dst, auth, value)
}

// keyFor returns the cache key of a request with this method, URL, Host field
// and partition (see [Cache.partition]), per [RFC 9111 Section 2]:
//
//	METHOD SP scheme "://" host path ["?" query] [NUL "host=" vhost] [NUL "auth=" hmac]
//
// host is the host the URL names, which is the one contacted, lower-cased and
// without the scheme's default port. When the Host field names another host
// (a virtual host on an address, or an attempt to poison another site's
// entries), it is added as vhost, so a response is only ever found again
// under both. The partition is a keyed hash of the Authorization field, and
// of the Cache's own partition value, that keeps users apart.
//
// No part can spell another: the method is a token, the scheme a scheme, the
// hosts hold only the bytes of a host (no "/"), the path and query no byte
// below 0x21 and no DEL, and the tagged parts start with NUL. A request whose
// URL breaks these rules, or has no host, gets "": it is not cached.
//
// [RFC 9111 Section 2]: https://www.rfc-editor.org/rfc/rfc9111#section-2
func (k *keyer) keyFor(method string, u *url.URL, host, partition string) string {
	var buf [256]byte
	key := appendKey(buf[:0], method, u, host, partition)
	if key == nil {
		return ""
	}
	return string(key)
}

// appendKey appends to dst the key keyFor returns, and returns the result,
// or nil when there is none. With dst on the caller's stack, a key that is
// only looked up is never allocated.
func appendKey(dst []byte, method string, u *url.URL, host, partition string) []byte {
	scheme := u.Scheme
	switch scheme {
	case "http", "https": // the common case, with nothing to check
	case "":
		scheme = "http"
	default:
		if scheme = strings.ToLower(scheme); !validScheme(scheme) {
			return nil
		}
	}
	contacted := normalizeHost(scheme, u.Host)
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	mark := "" // "?" before the query
	if u.ForceQuery || u.RawQuery != "" {
		mark = "?"
	}
	if contacted == "" || !httpsyntax.ValidToken(method) || !httpsyntax.ValidHost(contacted) ||
		!keySafe(path) || !keySafe(u.RawQuery) {
		return nil
	}
	vhost := ""
	if host != "" && host != u.Host {
		if named := normalizeHost(scheme, host); named != contacted {
			if !httpsyntax.ValidHost(named) {
				return nil
			}
			vhost = named
		}
	}
	dst = append(append(append(dst, method...), ' '), scheme...)
	dst = append(append(append(dst, "://"...), contacted...), path...)
	dst = append(append(dst, mark...), u.RawQuery...)
	if vhost != "" {
		dst = append(append(dst, "\x00host="...), vhost...)
	}
	return append(dst, partition...)
}

// validScheme reports a URI scheme ([RFC 3986 Section 3.1]): a letter, then
// letters, digits, "+", "-" and ".".
//
// [RFC 3986 Section 3.1]: https://www.rfc-editor.org/rfc/rfc3986#section-3.1
func validScheme(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return s != ""
}

// keySafe reports whether s may stand in the URL part of a key: no control
// character, space or DEL, so no NUL that would start a tagged part.
func keySafe(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] == 0x7f {
			return false
		}
	}
	return true
}

// normalizeHost lower-cases host and drops the scheme's default port, per
// RFC 9110 Section 4.2.3.
func normalizeHost(scheme, host string) string {
	host = strings.ToLower(host)
	switch {
	case strings.EqualFold(scheme, "http"):
		host = strings.TrimSuffix(host, ":80")
	case strings.EqualFold(scheme, "https"):
		host = strings.TrimSuffix(host, ":443")
	}
	return host
}

// partitionHasher computes partitions without allocating: the HMAC and the
// buffers it writes into travel together through the pool.
type partitionHasher struct {
	mac hash.Hash
	in  []byte // the field values, each followed by a NUL
	sum [sha256.Size]byte
	out [len(partitionTag) + 32]byte
}

// partitionTag starts the partition part of a key.
const partitionTag = "\x00auth="

// partitionOf returns the partition part of a key for the Authorization field
// values auth and the partition value of [WithPartitionBy]: partitionTag and
// a keyed hash of them, stable for one user, unguessable without the secret,
// and no credential in clear. Each field value ends with a NUL, and the
// partition value, when there is one, follows a 0x02 byte, which no valid
// field value holds: no two inputs hash the same bytes.
func (k *keyer) partitionOf(auth []string, value string) string {
	return string(k.appendPartitionOf(nil, auth, value))
}

// appendPartitionOf appends partitionOf(auth, value) to dst, and returns the
// result.
func (k *keyer) appendPartitionOf(dst []byte, auth []string, value string) []byte {
	p := k.hmacPool.Get().(*partitionHasher)
	defer k.hmacPool.Put(p)
	p.in = p.in[:0]
	for _, v := range auth {
		p.in = append(append(p.in, v...), 0)
	}
	if value != "" {
		p.in = append(append(p.in, 2), value...)
	}
	p.mac.Reset()
	p.mac.Write(p.in)
	sum := p.mac.Sum(p.sum[:0])
	n := copy(p.out[:], partitionTag)
	hex.Encode(p.out[n:], sum[:16])
	return append(dst, p.out[:]...)
}

// credentialsOf returns a keyed hash of the Authorization and Cookie fields
// of a request header h, which a response marked private is tied to in a
// private cache (see [Entry.Credentials]). The two lists are separated by a
// byte that no valid field value holds.
func (k *keyer) credentialsOf(h http.Header) string {
	p := k.hmacPool.Get().(*partitionHasher)
	defer k.hmacPool.Put(p)
	p.in = p.in[:0]
	for _, v := range h["Authorization"] {
		p.in = append(append(p.in, v...), 0)
	}
	p.in = append(p.in, 1)
	for _, v := range h["Cookie"] {
		p.in = append(append(p.in, v...), 0)
	}
	p.mac.Reset()
	p.mac.Write(p.in)
	return hex.EncodeToString(p.mac.Sum(p.sum[:0])[:16])
}

// credentialField reports the request fields that carry credentials
// (RFC 9110 Section 11.6.2, RFC 6265 Section 5.4, RFC 9110 Section 11.7.2).
// When a response varies on one (RFC 9111 Section 4.1), the entry keeps a
// keyed hash of its value, never the value: see varyDigest.
func credentialField(name string) bool {
	switch name {
	case "Authorization", "Cookie", "Proxy-Authorization":
		return true
	}
	return false
}

// varyDigestSize is the length of a varyDigest: 16 bytes of HMAC-SHA-256, in
// hex.
const varyDigestSize = 32

// varyDigest returns what an entry keeps of the values of the credential
// field name that its response varies on: a keyed hash, with the partition
// secret, of the values in the form varyMatches compares. It is stable for
// one secret (WithPartitionSecret) and tells nothing of the credentials
// without it.
func (k *keyer) varyDigest(name string, values []string) string {
	var out [varyDigestSize]byte
	k.appendVaryDigest(out[:0], name, values)
	return string(out[:])
}

// appendVaryDigest appends varyDigest(name, values) to dst.
func (k *keyer) appendVaryDigest(dst []byte, name string, values []string) []byte {
	p := k.hmacPool.Get().(*partitionHasher)
	defer k.hmacPool.Put(p)
	p.in = append(append(append(p.in[:0], "vary\x00"...), name...), 0)
	if len(values) == 1 && !strings.Contains(values[0], ",") {
		p.in = append(p.in, httpsyntax.TrimOWS(values[0])...) // normalizedList, without allocating
	} else {
		p.in = append(p.in, policy.NormalizedList(values)...)
	}
	p.mac.Reset()
	p.mac.Write(p.in)
	sum := p.mac.Sum(p.sum[:0])
	var hexed [varyDigestSize]byte
	hex.Encode(hexed[:], sum[:varyDigestSize/2])
	return append(dst, hexed[:]...)
}

// storedVaryHeader returns the request fields of req that the names of a
// response's Vary select, as the entry keeps them (RFC 9111 Section 4.1):
// as sent, but for credentials, kept as a keyed hash.
func (k *keyer) storedVaryHeader(req http.Header, names []string) http.Header {
	h := policy.VaryHeader(req, names)
	for name, values := range h {
		if credentialField(name) {
			h[name] = []string{k.varyDigest(name, values)}
		}
	}
	return h
}

// unmatchable reports a stored response that no request selects: a
// credential field of its VaryHeader has no value (see [Entry.UnmarshalBinary]
// for the encodings before version 3).
func unmatchable(e *Entry) bool {
	for name, values := range e.VaryHeader {
		if credentialField(name) && len(values) != 1 {
			return true
		}
	}
	return false
}

// variantMatches reports whether a request with header req selects a stored
// response whose Vary names names and whose entry keeps stored (see
// storedVaryHeader), as varyMatches compares them: a credential field by the
// keyed hash of the request's value.
func (k *keyer) variantMatches(names []string, stored, req http.Header) bool {
	for _, name := range names {
		storedValues, storedOK := stored[name]
		reqValues, reqOK := req[name]
		switch {
		case storedOK != reqOK:
			return false
		case !storedOK:
		case credentialField(name):
			var digest [varyDigestSize]byte
			if len(storedValues) != 1 || string(k.appendVaryDigest(digest[:0], name, reqValues)) != storedValues[0] {
				return false
			}
		case policy.SelectingValue(name, storedValues) != policy.SelectingValue(name, reqValues):
			return false
		}
	}
	return true
}

// splitPartition returns the URI key of a partition key, and whether key has
// a partition at all.
func splitPartition(key string) (uri string, partitioned bool) {
	if i := strings.Index(key, partitionTag); i >= 0 {
		return key[:i], true
	}
	return key, false
}
