package platformtest

import (
	"context"
	"fmt"
	"sync"

	"github.com/tlsfloor/tlsfloor/platform"
)

// ServiceCall is one recorded Reload.
type ServiceCall struct {
	Service platform.Service
	Action  platform.ServiceAction
}

// Services is a recording ServiceManager. Fail maps a service kind to the
// number of leading calls for it that fail (so 1 = the first reload fails,
// the next succeeds); Err is the error they return.
type Services struct {
	mu    sync.Mutex
	Fail  map[string]int
	Err   error
	Calls []ServiceCall
}

// Reload implements platform.ServiceManager.
func (s *Services) Reload(_ context.Context, svc platform.Service, action platform.ServiceAction) (platform.ServiceResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Calls = append(s.Calls, ServiceCall{Service: svc, Action: action})
	res := platform.ServiceResult{Method: "fake", Argv: []string{"fake", string(action), svc.Kind}}
	if s.Fail[svc.Kind] > 0 {
		s.Fail[svc.Kind]--
		err := s.Err
		if err == nil {
			err = fmt.Errorf("%s %s: job failed", svc.Kind, action)
		}
		return res, err
	}
	return res, nil
}
