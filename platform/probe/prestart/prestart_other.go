//go:build !linux

package prestart

// Early connections are implemented for Linux only; elsewhere Start does
// nothing and the prober dials as usual.

type sockaddr struct{}

func loopbackSockaddr(string) (sockaddr, bool) { return sockaddr{}, false }

func connectAndSend(sockaddr, []byte) int { return -1 }

func closeFD(int) {}
