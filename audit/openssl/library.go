package openssl

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/tlsfloor/tlsfloor/platform"
)

// Library is the TLS library a server binary really uses.
type Library struct {
	Version Version
	// Path is the host path of the file the version was read from: the
	// resolved libcrypto, or the binary itself when statically linked.
	Path string
	// Static is true when the binary links no libssl/libcrypto dynamically.
	Static bool
	// SONAME is the DT_NEEDED entry that led to Path ("libcrypto.so.3"),
	// empty when static.
	SONAME string
	// Via says how ld.so would find Path: "DT_RPATH", "LD_LIBRARY_PATH",
	// "DT_RUNPATH", "ld.so.cache", "ld.so.conf", "default directories",
	// "next to libssl", or "static".
	Via string
}

// ErrNotLinked means the binary neither links libssl/libcrypto nor embeds a
// TLS library version string: it does not use OpenSSL (Debian's apache2
// binary, for one; mod_ssl.so does).
var ErrNotLinked = errors.New("links no libssl/libcrypto and embeds no TLS library version")

// ErrNotFound means a needed libcrypto could not be found where ld.so would
// look.
var ErrNotFound = errors.New("library not found")

// soname matches OpenSSL's libssl/libcrypto SONAMEs (libssl.so.3,
// libssl.so.1.1, libssl.so.1.0.0, RHEL 7's libssl.so.10). NSS's libssl3.so
// does not match: it is not OpenSSL.
var reSONAME = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^lib(ssl|crypto)\.so\.(\d+(?:\.\d+)*)$`) })

// reVersionText checks a candidate version string found inside a library
// or binary. The run-time text of OpenSSL and LibreSSL is
// "OpenSSL 3.0.22 25 Aug 2026", "LibreSSL 3.8.2"; a version must end in a
// blank, a dash or the string's end, so build paths such as
// "openssl-1.1.1w/crypto" do not count.
var reVersionText = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^(?:OpenSSL|LibreSSL) \d{1,4}\.\d{1,4}\.\d{1,4}[a-z]{0,2}(?:[ -]|$)`)
})

// LinkedLibrary finds the TLS library that binary links: DT_NEEDED resolved
// as ld.so does (DT_RPATH, LD_LIBRARY_PATH, DT_RUNPATH, ld.so.cache, default
// directories), then the version string inside libcrypto; for a static
// binary, the version string inside the binary.
//
// getenv supplies LD_LIBRARY_PATH; pass nil (or a function returning "")
// when auditing another root, whose processes do not see this environment.
func LinkedLibrary(fsys platform.FS, binary string, getenv func(string) string) (_ Library, err error) {
	// debug/elf trusts offsets in the file more than a hostile or corrupt
	// binary deserves; a panic in there is a malformed file, not a crash.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("openssl: %s: malformed ELF file: %v", binary, r)
		}
	}()
	bin, err := openELF(fsys, binary)
	if err != nil {
		return Library{}, fmt.Errorf("openssl: %w", err)
	}
	needed, err := bin.file.ImportedLibraries()
	if err != nil {
		return Library{}, fmt.Errorf("openssl: %s: read DT_NEEDED: %w", binary, err)
	}
	var ssl, crypto string
	for _, n := range needed {
		if m := reSONAME().FindStringSubmatch(n); m != nil {
			if m[1] == "crypto" && crypto == "" {
				crypto = n
			}
			if m[1] == "ssl" && ssl == "" {
				ssl = n
			}
		}
	}
	if ssl == "" && crypto == "" {
		v, ok := findVersionText(bin.data)
		if !ok {
			return Library{}, fmt.Errorf("openssl: %s: %w", binary, ErrNotLinked)
		}
		return Library{Version: v, Path: bin.path, Static: true, Via: "static"}, nil
	}
	var env string
	if getenv != nil {
		env = getenv("LD_LIBRARY_PATH")
	}
	r := resolver{fsys: fsys, bin: bin, ldLibraryPath: env}
	lib := Library{}
	var libPath string
	if crypto != "" {
		lib.SONAME = crypto
		libPath, lib.Via = r.find(crypto)
	} else {
		// Only libssl is needed (libcrypto comes in through libssl's own
		// DT_NEEDED). Its libcrypto is the one with the same suffix beside it.
		want := "libcrypto" + strings.TrimPrefix(ssl, "libssl")
		lib.SONAME = want
		if sslPath, _ := r.find(ssl); sslPath != "" {
			if cand := path.Join(path.Dir(sslPath), want); r.usable(cand) {
				libPath, lib.Via = cand, "next to libssl"
			}
		}
		if libPath == "" {
			libPath, lib.Via = r.find(want)
		}
	}
	if libPath == "" {
		return Library{}, fmt.Errorf("openssl: %s needs %s: %w (searched %s)", binary, lib.SONAME, ErrNotFound, strings.Join(r.searched, ", "))
	}
	libELF, err := r.open(libPath)
	if err != nil {
		return Library{}, fmt.Errorf("openssl: %w", err)
	}
	v, ok := findVersionText(libELF.data)
	if !ok {
		return Library{}, fmt.Errorf("openssl: %s (for %s): no version string found", libELF.path, binary)
	}
	lib.Version, lib.Path = v, libELF.path
	return lib, nil
}

// elfFile is a parsed ELF file with the bytes it came from and its host
// path after symlinks.
type elfFile struct {
	path string
	data []byte
	file *elf.File
}

func openELF(fsys platform.FS, name string) (*elfFile, error) {
	// Resolve links through the FS so that, under --root, an absolute link
	// target stays inside the root.
	real, err := fsys.EvalSymlinks(name)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	data, err := fsys.ReadFile(real)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	f, err := newELF(data)
	if err != nil {
		return nil, fmt.Errorf("%s is not an ELF binary or library: %w", name, err)
	}
	return &elfFile{path: real, data: data, file: f}, nil
}

// newELF parses an ELF file, turning a panic in debug/elf into an error.
func newELF(data []byte) (f *elf.File, err error) {
	defer func() {
		if r := recover(); r != nil {
			f, err = nil, fmt.Errorf("malformed ELF file: %v", r)
		}
	}()
	return elf.NewFile(bytes.NewReader(data))
}

// findVersionText returns the first TLS library version string in data.
// It looks for literal markers with bytes.Index and checks only a short
// window after each: a regexp over a 5 MB libcrypto takes a third of a second.
func findVersionText(data []byte) (Version, bool) {
	// BoringSSL and AWS-LC say "OpenSSL 1.1.1 (compatible; BoringSSL)"; an
	// OpenSSL build never contains that marker.
	if i := bytes.Index(data, []byte("(compatible; ")); i >= 0 {
		if v, err := Parse(string(window(data, i, 60))); err == nil && v.Flavor != FlavorOpenSSL {
			return v, true
		}
	}
	marker := []byte("SSL ")
	for off := 0; ; {
		i := bytes.Index(data[off:], marker)
		if i < 0 {
			return Version{}, false
		}
		i += off
		off = i + len(marker)
		var start int
		switch {
		case i >= 4 && string(data[i-4:i]) == "Open":
			start = i - 4
		case i >= 5 && string(data[i-5:i]) == "Libre":
			start = i - 5
		default:
			continue
		}
		w := window(data, start, 80)
		if !reVersionText().Match(w) {
			continue
		}
		if v, err := Parse(string(w)); err == nil {
			v.Raw = strings.TrimSpace(v.Raw)
			return v, true
		}
	}
}

// window returns up to n bytes of data from i, cut at a NUL or newline.
func window(data []byte, i, n int) []byte {
	w := data[i:min(len(data), i+n)]
	if j := bytes.IndexAny(w, "\x00\n"); j >= 0 {
		w = w[:j]
	}
	return w
}

// resolver searches for a SONAME the way glibc's ld.so does for the
// libraries a program needs.
type resolver struct {
	fsys          platform.FS
	bin           *elfFile
	ldLibraryPath string
	searched      []string

	opened map[string]*elfFile // files already read, so libcrypto is read once

	cacheLoaded bool
	cache       map[string][]string // SONAME -> paths, in cache order
	confDirs    []string            // from ld.so.conf when the cache is unusable
}

func (r *resolver) dynList(tag elf.DynTag) []string {
	vals, err := r.bin.file.DynString(tag)
	if err != nil {
		return nil
	}
	var out []string
	for _, v := range vals {
		for _, d := range strings.Split(v, ":") {
			if d == "" {
				continue
			}
			origin := path.Dir(r.bin.path)
			d = strings.ReplaceAll(d, "${ORIGIN}", origin)
			d = strings.ReplaceAll(d, "$ORIGIN", origin)
			if strings.Contains(d, "$") {
				// $LIB and $PLATFORM depend on the running ld.so; we
				// cannot expand them faithfully, so skip such entries.
				continue
			}
			out = append(out, path.Clean(d))
		}
	}
	return out
}

// find returns the path ld.so would load for soname and which step found it.
func (r *resolver) find(soname string) (string, string) {
	runpath := r.dynList(elf.DT_RUNPATH)
	if len(runpath) == 0 {
		if p := r.inDirs(soname, r.dynList(elf.DT_RPATH)); p != "" {
			return p, "DT_RPATH"
		}
	}
	var ldlp []string
	for _, d := range strings.FieldsFunc(r.ldLibraryPath, func(c rune) bool { return c == ':' || c == ';' }) {
		ldlp = append(ldlp, path.Clean(d))
	}
	if p := r.inDirs(soname, ldlp); p != "" {
		return p, "LD_LIBRARY_PATH"
	}
	if p := r.inDirs(soname, runpath); p != "" {
		return p, "DT_RUNPATH"
	}
	r.loadCache()
	if r.cache != nil {
		r.searched = append(r.searched, "/etc/ld.so.cache")
		for _, p := range r.cache[soname] {
			if r.usable(p) {
				return p, "ld.so.cache"
			}
		}
	} else if p := r.inDirs(soname, r.confDirs); p != "" {
		return p, "ld.so.conf"
	}
	if p := r.inDirs(soname, defaultDirs(r.bin.file)); p != "" {
		return p, "default directories"
	}
	return "", ""
}

func (r *resolver) inDirs(soname string, dirs []string) string {
	for _, d := range dirs {
		r.searched = append(r.searched, d)
		if p := path.Join(d, soname); r.usable(p) {
			return p
		}
	}
	return ""
}

// usable reports whether p exists and is an ELF file of the binary's class
// and machine, as ld.so skips a 32-bit libcrypto for a 64-bit nginx.
func (r *resolver) usable(p string) bool {
	if _, err := r.fsys.Stat(p); err != nil {
		return false
	}
	f, err := r.open(p)
	if err != nil {
		return false
	}
	return f.file.Class == r.bin.file.Class && f.file.Machine == r.bin.file.Machine
}

func (r *resolver) open(p string) (*elfFile, error) {
	if f, ok := r.opened[p]; ok {
		return f, nil
	}
	f, err := openELF(r.fsys, p)
	if err != nil {
		return nil, err
	}
	if r.opened == nil {
		r.opened = map[string]*elfFile{}
	}
	r.opened[p] = f
	return f, nil
}

func (r *resolver) loadCache() {
	if r.cacheLoaded {
		return
	}
	r.cacheLoaded = true
	if data, err := r.fsys.ReadFile("/etc/ld.so.cache"); err == nil {
		if c, err := ParseLDCache(data); err == nil {
			r.cache = c
			return
		}
	}
	r.confDirs = ldSoConfDirs(r.fsys, "/etc/ld.so.conf", 0)
}

// multiarch maps an ELF machine to Debian's multiarch directory name.
var multiarch = map[elf.Machine]string{
	elf.EM_X86_64:  "x86_64-linux-gnu",
	elf.EM_AARCH64: "aarch64-linux-gnu",
	elf.EM_386:     "i386-linux-gnu",
	elf.EM_ARM:     "arm-linux-gnueabihf",
	elf.EM_PPC64:   "powerpc64le-linux-gnu",
	elf.EM_S390:    "s390x-linux-gnu",
	elf.EM_RISCV:   "riscv64-linux-gnu",
}

// defaultDirs are ld.so's built-in directories: Debian's multiarch ones,
// then lib64 for 64-bit binaries (RHEL, SUSE), then /lib and /usr/lib.
func defaultDirs(f *elf.File) []string {
	var dirs []string
	if t, ok := multiarch[f.Machine]; ok {
		dirs = append(dirs, "/lib/"+t, "/usr/lib/"+t)
	}
	if f.Class == elf.ELFCLASS64 {
		dirs = append(dirs, "/lib64", "/usr/lib64")
	}
	return append(dirs, "/lib", "/usr/lib")
}

// ldSoConfDirs reads ld.so.conf's directory list, following "include"
// globs (relative to the including file's directory, as ldconfig does).
func ldSoConfDirs(fsys platform.FS, name string, depth int) []string {
	if depth > 8 {
		return nil
	}
	data, err := fsys.ReadFile(name)
	if err != nil {
		return nil
	}
	var dirs []string
	for _, line := range strings.Split(string(data), "\n") {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		fields := strings.Fields(line)
		switch {
		case len(fields) == 0:
		case fields[0] == "include":
			for _, pat := range fields[1:] {
				if !strings.HasPrefix(pat, "/") {
					pat = path.Join(path.Dir(name), pat)
				}
				matches, _ := fsys.Glob(pat)
				for _, m := range matches {
					dirs = append(dirs, ldSoConfDirs(fsys, m, depth+1)...)
				}
			}
		case fields[0] == "hwcap":
		default:
			for _, d := range strings.FieldsFunc(line, func(c rune) bool { return c == ' ' || c == '\t' || c == ':' || c == ',' }) {
				// A "dir=type" suffix is an old libc5 hint.
				if i := strings.IndexByte(d, '='); i >= 0 {
					d = d[:i]
				}
				if strings.HasPrefix(d, "/") {
					dirs = append(dirs, path.Clean(d))
				}
			}
		}
	}
	return dirs
}

// systemSONAMEs are libcrypto's SONAMEs, newest first.
var systemSONAMEs = []string{"libcrypto.so.3", "libcrypto.so.1.1", "libcrypto.so.1.0.0", "libcrypto.so.10"}

// SystemLibrary finds the newest libcrypto the dynamic linker would hand a
// program that has no DT_RPATH/DT_RUNPATH of its own: from /etc/ld.so.cache,
// else ld.so.conf's directories, else the default directories. It is the
// fallback for hosts with a TLS library but no openssl CLI.
func SystemLibrary(fsys platform.FS) (Library, error) {
	r := resolver{fsys: fsys}
	r.loadCache()
	var dirs []string
	for _, m := range multiarch {
		dirs = append(dirs, "/lib/"+m, "/usr/lib/"+m)
	}
	sort.Strings(dirs)
	dirs = append(dirs, "/lib64", "/usr/lib64", "/lib", "/usr/lib")
	for _, soname := range systemSONAMEs {
		var cands []string
		via := "ld.so.cache"
		if r.cache != nil {
			cands = r.cache[soname]
		} else {
			via = "ld.so.conf"
			for _, d := range r.confDirs {
				cands = append(cands, path.Join(d, soname))
			}
		}
		for _, d := range dirs {
			cands = append(cands, path.Join(d, soname))
		}
		for i, c := range cands {
			f, err := r.open(c)
			if err != nil {
				continue
			}
			v, ok := findVersionText(f.data)
			if !ok {
				continue
			}
			if i >= len(cands)-len(dirs) {
				via = "default directories"
			}
			return Library{Version: v, Path: f.path, SONAME: soname, Via: via}, nil
		}
	}
	return Library{}, fmt.Errorf("openssl: no libcrypto (%s): %w", strings.Join(systemSONAMEs, ", "), ErrNotFound)
}
