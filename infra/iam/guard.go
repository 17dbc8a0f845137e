package iam

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
)

// Record collects, per function, the parts of its role (Units) the calls Guard allowed
// used. Safe for concurrent use.
type Record struct {
	mu   sync.Mutex
	used map[string]map[string]bool
}

// Used are the units of fn's role its calls used, sorted.
func (r *Record) Used(fn string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for u := range r.used[fn] {
		out = append(out, u)
	}
	slices.Sort(out)
	return out
}

func (r *Record) add(fn string, g Grant, matched []string) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.used == nil {
		r.used = map[string]map[string]bool{}
	}
	if r.used[fn] == nil {
		r.used[fn] = map[string]bool{}
	}
	if g.Keys == nil {
		r.used[fn][unit(g, "")] = true
	}
	for _, k := range matched {
		r.used[fn][unit(g, k)] = true
	}
}

// Guard is an http.RoundTripper for function fn's clients of DynamoDB, KMS or SES that
// plays IAM with fn's role: a call the role would not allow is refused as AWS refuses it
// (AccessDeniedException) and reported to denied; an allowed one goes on to next and the
// part of the role it used is added to rec (nil: not recorded).
func (r Roles) Guard(fn string, next http.RoundTripper, rec *Record, denied func(string)) http.RoundTripper {
	return roundTripper(func(req *http.Request) (*http.Response, error) {
		var body []byte
		if req.Body != nil {
			var err error
			if body, err = io.ReadAll(req.Body); err != nil {
				return nil, err
			}
			req.Body.Close()
			req.Body = io.NopCloser(bytes.NewReader(body))
		}
		needs, service := needsOf(req, body)
		for _, n := range needs {
			g, matched, ok := r.allow(fn, n)
			if !ok {
				msg := fmt.Sprintf("%s is not authorized to perform %s on %s with partition keys %v and %v (its role in template.yaml)", fn, n.Action, n.Resource, n.Keys, n.Condition)
				if denied != nil {
					denied(msg)
				}
				return refusal(req, service, msg), nil
			}
			rec.add(fn, g, matched)
		}
		return next.RoundTrip(req)
	})
}

// refusal is AWS's answer to a call IAM refuses, in the service's protocol.
func refusal(r *http.Request, service, msg string) *http.Response {
	status, ctype := http.StatusBadRequest, "application/x-amz-json-1.0"
	var out []byte
	switch service {
	case "ses":
		status, ctype = http.StatusForbidden, "text/xml"
		out = []byte(`<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>` + xmlEscape(msg) + `</Message></Error></ErrorResponse>`)
	case "kms":
		ctype = "application/x-amz-json-1.1"
		out, _ = json.Marshal(map[string]string{"__type": "AccessDeniedException", "message": msg})
	default:
		out, _ = json.Marshal(map[string]string{"__type": "com.amazon.coral.service#AccessDeniedException", "message": msg})
	}
	return &http.Response{
		StatusCode: status, Status: fmt.Sprintf("%d %s", status, http.StatusText(status)), Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{"Content-Type": {ctype}},
		Body:   io.NopCloser(bytes.NewReader(out)), ContentLength: int64(len(out)), Request: r,
	}
}

func xmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// needsOf are the permission checks one request needs, and its service.
func needsOf(r *http.Request, body []byte) ([]Need, string) {
	target := r.Header.Get("X-Amz-Target")
	switch {
	case strings.HasPrefix(target, "DynamoDB_"):
		_, op, _ := strings.Cut(target, ".")
		return calls(op, body), "dynamodb"
	case strings.HasPrefix(target, "TrentService."):
		var in struct{ EncryptionContext map[string]string }
		_ = json.Unmarshal(body, &in)
		cond := map[string]string{}
		for k, v := range in.EncryptionContext {
			cond["kms:EncryptionContext:"+k] = v
		}
		return []Need{{Action: "kms:" + strings.TrimPrefix(target, "TrentService."), Resource: Key, Condition: cond}}, "kms"
	}
	// SES (the v1 Query API, form-encoded).
	q, _ := url.ParseQuery(string(body))
	action := q.Get("Action")
	if action == "" {
		return []Need{{Action: "unknown:" + r.Method + " " + r.URL.Path, Resource: "unknown"}}, "ses"
	}
	cond := map[string]string{"ses:FromAddress": q.Get("Source")}
	needs := []Need{{Action: "ses:" + action, Resource: SES, Condition: cond}}
	if q.Get("ConfigurationSetName") != "" {
		needs = append(needs, Need{Action: "ses:" + action, Resource: SESConfigurationSet, Condition: cond})
	}
	return needs, "ses"
}

// attr is a DynamoDB attribute value on the wire; only strings matter for keys.
type attr struct{ S string }

type item map[string]attr

// equality finds "name = :value" terms of a key condition; the name may be a #placeholder.
var equality = regexp.MustCompile(`(#?[A-Za-z0-9_]+)\s*=\s*(:[A-Za-z0-9_]+)`)

// partitionKey is a table's or an index's partition key attribute.
var partitionKey = regexp.MustCompile(`^(pk|gsi[0-9]+pk)$`)

// calls are the permission checks one DynamoDB request needs, as IAM evaluates them
// (a transaction is authorized item by item; dynamodb:LeadingKeys are the partition key
// values, of the index for a query on one).
func calls(op string, body []byte) []Need {
	var in struct {
		Key                       item
		Item                      item
		IndexName                 string
		KeyConditionExpression    string
		ExpressionAttributeValues map[string]attr
		ExpressionAttributeNames  map[string]string
		RequestItems              map[string]struct{ Keys []item }
		TransactItems             []struct {
			Put, Update, Delete, ConditionCheck *struct {
				Key  item
				Item item
			}
		}
	}
	_ = json.Unmarshal(body, &in)
	one := func(action string, it item) Need {
		return Need{Action: "dynamodb:" + action, Resource: Table, Keys: []string{it["pk"].S}}
	}
	switch op {
	case "GetItem", "UpdateItem", "DeleteItem":
		return []Need{one(op, in.Key)}
	case "PutItem":
		return []Need{one(op, in.Item)}
	case "BatchGetItem":
		n := Need{Action: "dynamodb:BatchGetItem", Resource: Table}
		for _, r := range in.RequestItems {
			for _, k := range r.Keys {
				n.Keys = append(n.Keys, k["pk"].S)
			}
		}
		return []Need{n}
	case "Query":
		resource := Table
		if in.IndexName != "" {
			resource = Index + in.IndexName
		}
		key := ""
		for _, m := range equality.FindAllStringSubmatch(in.KeyConditionExpression, -1) {
			name := m[1]
			if n, ok := in.ExpressionAttributeNames[name]; ok {
				name = n
			}
			if partitionKey.MatchString(name) {
				key = in.ExpressionAttributeValues[m[2]].S
			}
		}
		return []Need{{Action: "dynamodb:Query", Resource: resource, Keys: []string{key}}}
	case "TransactWriteItems":
		var out []Need
		for _, t := range in.TransactItems {
			switch {
			case t.Put != nil:
				out = append(out, one("PutItem", t.Put.Item))
			case t.Update != nil:
				out = append(out, one("UpdateItem", t.Update.Key))
			case t.Delete != nil:
				out = append(out, one("DeleteItem", t.Delete.Key))
			case t.ConditionCheck != nil:
				out = append(out, one("ConditionCheckItem", t.ConditionCheck.Key))
			}
		}
		return out
	}
	return []Need{{Action: "dynamodb:" + op, Resource: Table, Keys: []string{""}}}
}
