package gateway

import (
	"sync"
	"time"

	"tokengate/infra/samtemplate"
)

// bucket is a token bucket: rate tokens a second, at most burst at once, as API Gateway
// throttles a stage or a method.
type bucket struct {
	mu     sync.Mutex
	rate   float64
	burst  float64
	tokens float64
	last   time.Time
	now    func() time.Time
}

func newBucket(rate float64, burst int, now func() time.Time) *bucket {
	if burst < 1 {
		burst = 1
	}
	return &bucket{rate: rate, burst: float64(burst), tokens: float64(burst), last: now(), now: now}
}

// take reports whether a request may pass now.
func (b *bucket) take() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// throttleFor is the bucket of a route: its own MethodSettings entry if the template has
// one, else the stage's ("*" "/*"), else none. Buckets are shared per entry, as API
// Gateway's limits are.
func throttleFor(r samtemplate.Route, throttles []samtemplate.Throttle, buckets map[samtemplate.Throttle]*bucket, now func() time.Time) *bucket {
	var stage *samtemplate.Throttle
	for i, th := range throttles {
		if th.Resource == r.Path && (th.Method == r.Method || th.Method == "*") {
			return bucketOf(th, buckets, now)
		}
		if th.Resource == "/*" && th.Method == "*" {
			stage = &throttles[i]
		}
	}
	if stage == nil {
		return nil
	}
	return bucketOf(*stage, buckets, now)
}

func bucketOf(th samtemplate.Throttle, buckets map[samtemplate.Throttle]*bucket, now func() time.Time) *bucket {
	if b, ok := buckets[th]; ok {
		return b
	}
	b := newBucket(th.Rate, th.Burst, now)
	buckets[th] = b
	return b
}
