//go:build linux

package prestart

import (
	"strconv"
	"syscall"
)

// connectTimeout bounds the blocking connect and send, as the prober's
// loopback dialer bounds its connect: on loopback both complete at once,
// and what does not is left to the prober.
const connectTimeout = 100 * 1000 // microseconds

// loopbackSockaddr parses "127.a.b.c:port" or "[::1]:port", the forms
// net.JoinHostPort gives for a loopback address and a decimal port.
func loopbackSockaddr(address string) (syscall.Sockaddr, bool) {
	i := len(address) - 1
	for i >= 0 && address[i] != ':' {
		i--
	}
	if i < 0 {
		return nil, false
	}
	host, portText := address[:i], address[i+1:]
	port, err := strconv.Atoi(portText)
	if err != nil || port < 1 || port > 65535 || strconv.Itoa(port) != portText {
		return nil, false
	}
	if host == "[::1]" {
		sa := &syscall.SockaddrInet6{Port: port}
		sa.Addr[15] = 1
		return sa, true
	}
	addr, ok := ParseLoopback4(host)
	if !ok {
		return nil, false
	}
	return &syscall.SockaddrInet4{Port: port, Addr: addr}, true
}

// connectAndSend opens a TCP socket to sa with SO_LINGER 0 (the prober
// closes with a reset), connects it, sends msg and returns the socket, or
// -1 if any step fails or does not complete within connectTimeout.
func connectAndSend(sa syscall.Sockaddr, msg []byte) int {
	family := syscall.AF_INET
	if _, ok := sa.(*syscall.SockaddrInet6); ok {
		family = syscall.AF_INET6
	}
	fd, err := syscall.Socket(family, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, syscall.IPPROTO_TCP)
	if err != nil {
		return -1
	}
	tv := syscall.Timeval{Usec: connectTimeout}
	if syscall.SetsockoptTimeval(fd, syscall.SOL_SOCKET, syscall.SO_SNDTIMEO, &tv) != nil ||
		syscall.SetsockoptLinger(fd, syscall.SOL_SOCKET, syscall.SO_LINGER, &syscall.Linger{Onoff: 1}) != nil {
		closeFD(fd)
		return -1
	}
	for {
		err = syscall.Connect(fd, sa)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		closeFD(fd)
		return -1
	}
	// MSG_NOSIGNAL: a peer that reset the connection must not raise SIGPIPE.
	for len(msg) > 0 {
		n, err := syscall.SendmsgN(fd, msg, nil, nil, syscall.MSG_NOSIGNAL)
		if err == syscall.EINTR {
			continue
		}
		if err != nil || n <= 0 {
			closeFD(fd)
			return -1
		}
		msg = msg[n:]
	}
	return fd
}

func closeFD(fd int) { _ = syscall.Close(fd) }
