package platform_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tlsfloor/tlsfloor/platform"
	"github.com/tlsfloor/tlsfloor/platform/platformtest"
)

func TestLockExcludesAndNamesHolder(t *testing.T) {
	p := filepath.Join(platformtest.TempDir(t), ".lock")
	ctx := context.Background()
	l1, err := platform.Lock(ctx, p, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = platform.Lock(ctx, p, 120*time.Millisecond)
	if !errors.Is(err, platform.ErrLocked) {
		t.Fatalf("second lock: %v, want ErrLocked", err)
	}
	if !strings.Contains(err.Error(), "pid "+strconv.Itoa(os.Getpid())) {
		t.Errorf("message does not name the holder: %v", err)
	}
	// A waiter gets the lock once the holder lets go.
	done := make(chan error, 1)
	go func() {
		l, err := platform.Lock(ctx, p, 10*time.Second)
		if err == nil {
			err = l.Unlock()
		}
		done <- err
	}()
	time.Sleep(100 * time.Millisecond)
	if err := l1.Unlock(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("waiter: %v", err)
	}
	if err := l1.Unlock(); err != nil {
		t.Errorf("second Unlock: %v", err)
	}
}

func TestLockCancelled(t *testing.T) {
	p := filepath.Join(platformtest.TempDir(t), ".lock")
	l, err := platform.Lock(context.Background(), p, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := platform.Lock(ctx, p, time.Hour); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}
