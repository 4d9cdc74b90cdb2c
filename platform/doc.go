// Package platform is tlsfloor's only door to the operating system: the file
// system (read, rooted under --root, and atomic writes), external commands,
// the Windows registry, service managers and the network prober all come in
// through the small interfaces declared here, so every decision elsewhere can
// be tested with the fakes in platformtest. It imports no other tlsfloor
// package.
package platform
