package iam

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
)

// Guard is an http.RoundTripper for DynamoDB clients that plays IAM for function fn:
// a call its role (Calls[fn]) would not allow is refused with AccessDeniedException, as
// AWS would refuse it, and reported to denied; others go on to next. DynamoDB Local
// checks no permission, so without it a function could use a call its role lacks and
// only fail on AWS.
func Guard(fn string, next http.RoundTripper, denied func(string)) http.RoundTripper {
	return roundTripper(func(r *http.Request) (*http.Response, error) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, err
		}
		r.Body.Close()
		r.Body = io.NopCloser(bytes.NewReader(body))
		_, op, _ := strings.Cut(r.Header.Get("X-Amz-Target"), ".")
		for _, c := range calls(op, body) {
			if !Allows(fn, c.Action, c.Resource, c.Keys) {
				msg := fmt.Sprintf("%s is not authorized to perform %s on %s with partition keys %v (iam.Calls)", fn, c.Action, c.Resource, c.Keys)
				if denied != nil {
					denied(msg)
				}
				out, _ := json.Marshal(map[string]string{"__type": "com.amazon.coral.service#AccessDeniedException", "message": msg})
				return &http.Response{
					StatusCode: http.StatusBadRequest, Status: "400 Bad Request", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
					Header: http.Header{"Content-Type": {"application/x-amz-json-1.0"}},
					Body:   io.NopCloser(bytes.NewReader(out)), ContentLength: int64(len(out)), Request: r,
				}, nil
			}
		}
		return next.RoundTrip(r)
	})
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// attr is a DynamoDB attribute value on the wire; only strings matter for keys.
type attr struct{ S string }

type item map[string]attr

// equality finds "name = :value" terms of a key condition; the name may be a #placeholder.
var equality = regexp.MustCompile(`(#?[A-Za-z0-9_]+)\s*=\s*(:[A-Za-z0-9_]+)`)

// calls are the permission checks one DynamoDB request needs, as IAM evaluates them
// (a transaction is authorized item by item).
func calls(op string, body []byte) []Grant {
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
	one := func(action string, it item) Grant {
		return Grant{Action: "dynamodb:" + action, Resource: Table, Keys: []string{it["pk"].S}}
	}
	switch op {
	case "GetItem", "UpdateItem", "DeleteItem":
		return []Grant{one(op, in.Key)}
	case "PutItem":
		return []Grant{one(op, in.Item)}
	case "BatchGetItem":
		g := Grant{Action: "dynamodb:BatchGetItem", Resource: Table}
		for _, r := range in.RequestItems {
			for _, k := range r.Keys {
				g.Keys = append(g.Keys, k["pk"].S)
			}
		}
		return []Grant{g}
	case "Query":
		if in.IndexName != "" {
			return []Grant{{Action: "dynamodb:Query", Resource: Index + in.IndexName}}
		}
		key := ""
		for _, m := range equality.FindAllStringSubmatch(in.KeyConditionExpression, -1) {
			name := m[1]
			if n, ok := in.ExpressionAttributeNames[name]; ok {
				name = n
			}
			if name == "pk" {
				key = in.ExpressionAttributeValues[m[2]].S
			}
		}
		return []Grant{{Action: "dynamodb:Query", Resource: Table, Keys: []string{key}}}
	case "TransactWriteItems":
		var out []Grant
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
	return []Grant{{Action: "dynamodb:" + op, Resource: Table, Keys: []string{""}}}
}
