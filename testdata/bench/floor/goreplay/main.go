// Command goreplay is ../replay.c in Go: it sends the ClientHellos of a
// recorded `tlsfloor probe --ciphers` run (../record) on the recorded
// schedule from one goroutine locked to its thread, with raw system calls
// and epoll, and links every tlsfloor package so that their initialisation
// counts too. testdata/bench/probe.sh times it next to tlsfloor and the C
// replay: it is what tlsfloor could reach with an event loop instead of a
// goroutine per handshake chain, before parsing a single answer.
//
// Usage: goreplay SCHEDULE PORT
//go:build linux

package main

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"unsafe"

	_ "github.com/tlsfloor/tlsfloor/cmd/root" // their package initialisation
)

func raw(trap, a1, a2, a3 uintptr) (uintptr, syscall.Errno) {
	r, _, e := syscall.RawSyscall(trap, a1, a2, a3)
	return r, e
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "goreplay: "+format+"\n", args...)
	os.Exit(1)
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: goreplay SCHEDULE PORT")
		os.Exit(2)
	}
	runtime.LockOSThread()
	f, err := os.Open(os.Args[1])
	if err != nil {
		fail("%v", err)
	}
	port, err := strconv.Atoi(os.Args[2])
	if err != nil {
		fail("port: %v", err)
	}
	var need []int
	var hellos [][]byte
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		a, b, _ := strings.Cut(sc.Text(), " ")
		n, err1 := strconv.Atoi(a)
		h, err2 := hex.DecodeString(b)
		if err1 != nil || err2 != nil || len(h) == 0 {
			fail("bad schedule line %q", sc.Text())
		}
		need = append(need, n)
		hellos = append(hellos, h)
	}
	ep, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		fail("epoll: %v", err)
	}
	var sa syscall.RawSockaddrInet4
	sa.Family = syscall.AF_INET
	sa.Port = uint16(port>>8) | uint16(port&0xff)<<8 // network byte order
	sa.Addr = [4]byte{127, 0, 0, 1}
	lg := syscall.Linger{Onoff: 1}
	got := map[int32]int{}
	next, ended := 0, 0
	buf := make([]byte, 65536)
	evs := make([]syscall.EpollEvent, 32)
	for ended < len(hellos) {
		for next < len(hellos) && need[next] <= ended {
			fd, e := raw(syscall.SYS_SOCKET, syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
			if e != 0 {
				fail("socket: %v", e)
			}
			syscall.RawSyscall6(syscall.SYS_SETSOCKOPT, fd, syscall.SOL_SOCKET, syscall.SO_LINGER, uintptr(unsafe.Pointer(&lg)), unsafe.Sizeof(lg), 0)
			if _, e := raw(syscall.SYS_CONNECT, fd, uintptr(unsafe.Pointer(&sa)), unsafe.Sizeof(sa)); e != 0 {
				fail("connect: %v", e)
			}
			raw(syscall.SYS_FCNTL, fd, syscall.F_SETFL, syscall.O_NONBLOCK)
			h := hellos[next]
			if _, e := raw(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&h[0])), uintptr(len(h))); e != 0 {
				fail("write: %v", e)
			}
			ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(fd)}
			syscall.RawSyscall6(syscall.SYS_EPOLL_CTL, uintptr(ep), syscall.EPOLL_CTL_ADD, fd, uintptr(unsafe.Pointer(&ev)), 0, 0)
			got[int32(fd)] = 0
			next++
		}
		k, _, e := syscall.RawSyscall6(syscall.SYS_EPOLL_WAIT, uintptr(ep), uintptr(unsafe.Pointer(&evs[0])), uintptr(len(evs)), 5000, 0, 0)
		if e == syscall.EINTR {
			continue
		}
		if e != 0 || k == 0 {
			fail("no answer within 5 s (%d of %d ended)", ended, len(hellos))
		}
		for _, ev := range evs[:k] {
			r, e := raw(syscall.SYS_READ, uintptr(ev.Fd), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)))
			if e == syscall.EAGAIN {
				continue
			}
			if e == 0 && r > 0 {
				// Answered once reads returned a record header's 5 bytes, as in replay.c.
				if got[ev.Fd] += int(r); got[ev.Fd] < 5 {
					continue
				}
			}
			syscall.RawSyscall6(syscall.SYS_EPOLL_CTL, uintptr(ep), syscall.EPOLL_CTL_DEL, uintptr(ev.Fd), 0, 0, 0)
			raw(syscall.SYS_CLOSE, uintptr(ev.Fd), 0, 0)
			ended++
		}
	}
}
