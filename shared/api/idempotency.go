package api

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"

	"tokengate/shared/access"
	"tokengate/shared/audit"
	"tokengate/shared/fault"
)

// IdempotencyHeader makes a create or a rotation safe to send again (Stripe's header):
// the same request with the same key, from the same principal, within
// audit.IdempotencyTTL, changes nothing more and is answered 409 naming the token the
// first one made. The secret that first answer carried is kept nowhere, so it is never
// answered again: a client whose answer was lost rotates the token (docs/operations.md).
const IdempotencyHeader = "Idempotency-Key"

// maxIdempotencyKey bounds the key, as Stripe does.
const maxIdempotencyKey = 255

// idempotencyOf reads the Idempotency-Key of r, if any, for the request req (decoded):
// the key's hash is scoped to the calling principal, the request's covers the method,
// the path and the decoded body, so whitespace or key order in the JSON do not matter.
func idempotencyOf(r *http.Request, c access.Caller, req any) (*audit.Idempotency, error) {
	vals := r.Header.Values(IdempotencyHeader)
	if len(vals) == 0 {
		return nil, nil
	}
	key := vals[0]
	if len(vals) > 1 || key == "" || len(key) > maxIdempotencyKey || !printableASCII(key) {
		return nil, fault.Invalid(IdempotencyHeader, "must be one header of 1 to 255 printable ASCII characters, such as a UUID")
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	k := sha256.Sum256([]byte("tokengate idempotency key v1\x00" + c.OwnerID + "\x00" + key))
	q := sha256.Sum256([]byte(r.Method + " " + r.URL.Path + "\x00" + string(body)))
	return &audit.Idempotency{Key: hex.EncodeToString(k[:]), Request: hex.EncodeToString(q[:])}, nil
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
