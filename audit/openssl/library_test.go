package openssl

import (
	"bytes"
	"debug/elf"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tlsfloor/tlsfloor/platform"
	"github.com/tlsfloor/tlsfloor/platform/platformtest"
)

func noEnv(string) string { return "" }

// hostOpenSSLVersion is the library version the real openssl CLI reports.
func hostOpenSSLVersion(t *testing.T) Version {
	t.Helper()
	bin := platformtest.RequireTool(t, "openssl")
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatalf("openssl version: %v", err)
	}
	return mustParse(t, string(out))
}

func TestLinkedLibraryRealBinaries(t *testing.T) {
	for _, bin := range []string{"/usr/sbin/nginx", "/usr/lib/apache2/modules/mod_ssl.so", "/usr/bin/openssl"} {
		t.Run(filepath.Base(bin), func(t *testing.T) {
			platformtest.RequireTool(t, bin)
			want := hostOpenSSLVersion(t)
			lib, err := LinkedLibrary(platform.NewOSFS(""), bin, noEnv)
			if err != nil {
				t.Fatalf("LinkedLibrary: %v", err)
			}
			if !lib.Version.Equal(want) {
				t.Errorf("version %v, want %v (from `openssl version`)", lib.Version, want)
			}
			if lib.Static || !strings.Contains(filepath.Base(lib.Path), "libcrypto.so.") {
				t.Errorf("got %+v, want a dynamically linked libcrypto", lib)
			}
			if data, err := os.ReadFile("/etc/ld.so.cache"); err == nil {
				if c, err := ParseLDCache(data); err == nil && len(c[lib.SONAME]) > 0 && lib.Via != "ld.so.cache" {
					t.Errorf("found via %q, want ld.so.cache, which lists %s", lib.Via, lib.SONAME)
				}
			}
		})
	}
}

func TestLinkedLibraryApacheBinaryLinksNoSSL(t *testing.T) {
	bin := platformtest.RequireTool(t, "/usr/sbin/apache2")
	_, err := LinkedLibrary(platform.NewOSFS(""), bin, noEnv)
	if !errors.Is(err, ErrNotLinked) {
		t.Fatalf("LinkedLibrary(apache2) error = %v, want ErrNotLinked (mod_ssl.so carries OpenSSL)", err)
	}
}

func TestLinkedLibraryNotELF(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "script")
	if err := os.WriteFile(p, []byte("#!/bin/sh\necho OpenSSL 1.0.1f\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := LinkedLibrary(platform.NewOSFS(dir), "/script", noEnv)
	if err == nil || !strings.Contains(err.Error(), "not an ELF") {
		t.Fatalf("error = %v, want a not-an-ELF error", err)
	}
}

// copyFile copies a real file into a test root.
func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, data, 0o755); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, name, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestLinkedLibraryRooted audits a copy of the real openssl CLI inside a
// --root tree whose libraries live in a directory only ld.so.conf names;
// without a usable ld.so.cache the resolver must fall back to ld.so.conf.
func TestLinkedLibraryRooted(t *testing.T) {
	bin := platformtest.RequireTool(t, "/usr/bin/openssl")
	want := hostOpenSSLVersion(t)
	host, err := LinkedLibrary(platform.NewOSFS(""), bin, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	for _, cache := range []string{"", "garbage that is not a cache"} {
		root := t.TempDir()
		copyFile(t, bin, filepath.Join(root, "usr/bin/openssl"))
		copyFile(t, host.Path, filepath.Join(root, "opt/ssl/lib", host.SONAME))
		writeFile(t, filepath.Join(root, "etc/ld.so.conf"), "# test\ninclude /etc/ld.so.conf.d/*.conf\n")
		writeFile(t, filepath.Join(root, "etc/ld.so.conf.d/ssl.conf"), "/opt/ssl/lib\n")
		if cache != "" {
			writeFile(t, filepath.Join(root, "etc/ld.so.cache"), cache)
		}
		lib, err := LinkedLibrary(platform.NewOSFS(root), "/usr/bin/openssl", noEnv)
		if err != nil {
			t.Fatalf("cache %q: %v", cache, err)
		}
		if lib.Path != "/opt/ssl/lib/"+host.SONAME || lib.Via != "ld.so.conf" || !lib.Version.Equal(want) {
			t.Errorf("cache %q: got %+v, want %s via ld.so.conf at /opt/ssl/lib", cache, lib, want)
		}
	}

	// Debian's layout: /lib is an absolute symlink that must resolve inside
	// the root, and the default multiarch directory finds the library.
	root := t.TempDir()
	copyFile(t, bin, filepath.Join(root, "usr/bin/openssl"))
	libDir := "/usr/lib/" + hostMultiarch(t, bin)
	copyFile(t, host.Path, filepath.Join(root, libDir, host.SONAME))
	if err := os.Symlink("/usr/lib", filepath.Join(root, "lib")); err != nil {
		t.Fatal(err)
	}
	lib, err := LinkedLibrary(platform.NewOSFS(root), "/usr/bin/openssl", noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if lib.Path != libDir+"/"+host.SONAME || lib.Via != "default directories" {
		t.Errorf("got %+v, want the multiarch default directory", lib)
	}

	// Nothing anywhere: a clear not-found error naming what was searched.
	empty := t.TempDir()
	copyFile(t, bin, filepath.Join(empty, "usr/bin/openssl"))
	_, err = LinkedLibrary(platform.NewOSFS(empty), "/usr/bin/openssl", noEnv)
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "/usr/lib") {
		t.Errorf("error = %v, want ErrNotFound listing the searched directories", err)
	}
}

// TestParseLDCacheMatchesLdconfig checks the cache parser against ldconfig's
// own reading of this machine's /etc/ld.so.cache.
func TestParseLDCacheMatchesLdconfig(t *testing.T) {
	ldconfig := platformtest.RequireTool(t, "/sbin/ldconfig")
	data, err := os.ReadFile("/etc/ld.so.cache")
	platformtest.Require(t, err == nil, "no /etc/ld.so.cache")
	got, err := ParseLDCache(data)
	if err != nil {
		t.Fatalf("ParseLDCache: %v", err)
	}
	out, err := exec.Command(ldconfig, "-p").Output()
	if err != nil {
		t.Fatalf("ldconfig -p: %v", err)
	}
	n := 0
	for _, line := range strings.Split(string(out), "\n") {
		name, target, ok := strings.Cut(strings.TrimSpace(line), " => ")
		if !ok {
			continue
		}
		soname := strings.Fields(name)[0]
		n++
		found := false
		for _, p := range got[soname] {
			found = found || p == target
		}
		if !found {
			t.Errorf("ldconfig -p has %s => %s; parsed cache has %v", soname, target, got[soname])
		}
	}
	if n == 0 {
		t.Fatal("ldconfig -p listed nothing")
	}
}

func FuzzParseLDCache(f *testing.F) {
	f.Add([]byte(ldCacheNewMagic + strings.Repeat("\x00", 40)))
	f.Add([]byte(ldCacheOldMagic + "\x00\x01\x00\x00\x00" + strings.Repeat("\x00", 12)))
	if data, err := os.ReadFile("/etc/ld.so.cache"); err == nil && len(data) > 512 {
		f.Add(data[:512])
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = ParseLDCache(data)
	})
}

// buildFixtures compiles tiny programs and fake libcrypto/libssl libraries
// whose only content is a version string and a function returning it, so
// running a program shows which library the real ld.so picked.
func buildFixtures(t *testing.T) string {
	t.Helper()
	gcc := platformtest.RequireTool(t, "gcc")
	dir := t.TempDir()
	run := func(args ...string) {
		t.Helper()
		cmd := exec.Command(gcc, args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("gcc %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	writeFile(t, filepath.Join(dir, "crypto.c"), `const char *fake_version(void) { return VERSION; }`+"\n")
	writeFile(t, filepath.Join(dir, "ssl.c"), "const char *fake_version(void);\nconst char *ssl_version(void) { return fake_version(); }\n")
	writeFile(t, filepath.Join(dir, "prog.c"), "#include <stdio.h>\nconst char *fake_version(void);\nint main(void) { puts(fake_version()); return 0; }\n")
	writeFile(t, filepath.Join(dir, "sslprog.c"), "#include <stdio.h>\nconst char *ssl_version(void);\nint main(void) { puts(ssl_version()); return 0; }\n")
	writeFile(t, filepath.Join(dir, "static.c"), "#include <stdio.h>\nconst char v[] = \"OpenSSL 1.1.1k  FIPS 25 Mar 2021\";\nint main(void) { puts(v); return 0; }\n")
	writeFile(t, filepath.Join(dir, "plain.c"), "int main(void) { return 0; }\n")
	for sub, ver := range map[string]string{"a": "OpenSSL 1.0.1f 6 Jan 2014", "b": "OpenSSL 1.1.1w  11 Sep 2023", "c": "OpenSSL 3.0.99 1 Jan 2030"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
		run("-shared", "-fPIC", "-Wl,-soname,libcrypto.so.3", `-DVERSION="`+ver+`"`, "-o", sub+"/libcrypto.so.3", "crypto.c")
	}
	// libssl in c only, finding its libcrypto beside it like the real one.
	run("-shared", "-fPIC", "-Wl,-soname,libssl.so.3", "-Wl,--enable-new-dtags", "-Wl,-rpath,$ORIGIN", "-o", "c/libssl.so.3", "ssl.c", "c/libcrypto.so.3")
	run("-o", "prog-rpath", "prog.c", "a/libcrypto.so.3", "-Wl,--disable-new-dtags", "-Wl,-rpath,$ORIGIN/a")
	run("-o", "prog-runpath", "prog.c", "a/libcrypto.so.3", "-Wl,--enable-new-dtags", "-Wl,-rpath,$ORIGIN/a")
	run("-o", "prog-sslonly", "sslprog.c", "-Wl,--no-as-needed", "c/libssl.so.3", "-Wl,--enable-new-dtags", "-Wl,-rpath,$ORIGIN/c", "-Wl,--allow-shlib-undefined")
	run("-o", "prog-static", "static.c")
	run("-o", "prog-plain", "plain.c")
	return dir
}

func TestLinkedLibraryResolutionOrder(t *testing.T) {
	dir := buildFixtures(t)
	tests := []struct {
		prog, ldLibraryPath string
		wantDir, wantVia    string
	}{
		{"prog-rpath", "", "a", "DT_RPATH"},
		// DT_RPATH (without DT_RUNPATH) beats LD_LIBRARY_PATH ...
		{"prog-rpath", "/b", "a", "DT_RPATH"},
		{"prog-runpath", "", "a", "DT_RUNPATH"},
		// ... but LD_LIBRARY_PATH beats DT_RUNPATH.
		{"prog-runpath", "/b", "b", "LD_LIBRARY_PATH"},
		{"prog-sslonly", "", "c", "next to libssl"},
	}
	for _, tt := range tests {
		t.Run(tt.prog+"+"+tt.ldLibraryPath, func(t *testing.T) {
			getenv := func(k string) string {
				if k == "LD_LIBRARY_PATH" {
					return tt.ldLibraryPath
				}
				return ""
			}
			lib, err := LinkedLibrary(platform.NewOSFS(dir), "/"+tt.prog, getenv)
			if err != nil {
				t.Fatal(err)
			}
			if lib.Path != "/"+tt.wantDir+"/libcrypto.so.3" || lib.Via != tt.wantVia {
				t.Errorf("got %s via %s, want /%s/libcrypto.so.3 via %s", lib.Path, lib.Via, tt.wantDir, tt.wantVia)
			}
			// What the real ld.so loads must be what we said.
			cmd := exec.Command(filepath.Join(dir, tt.prog))
			cmd.Env = []string{}
			if tt.ldLibraryPath != "" {
				cmd.Env = []string{"LD_LIBRARY_PATH=" + filepath.Join(dir, tt.ldLibraryPath)}
			}
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("running %s: %v", tt.prog, err)
			}
			if ran := mustParse(t, string(out)); !ran.Equal(lib.Version) {
				t.Errorf("ld.so loaded %v, LinkedLibrary says %v", ran, lib.Version)
			}
		})
	}
}

func TestLinkedLibraryStatic(t *testing.T) {
	dir := buildFixtures(t)
	lib, err := LinkedLibrary(platform.NewOSFS(dir), "/prog-static", noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if !lib.Static || lib.Path != "/prog-static" || lib.Version.String() != "OpenSSL 1.1.1k FIPS" {
		t.Errorf("got %+v, want static OpenSSL 1.1.1k FIPS", lib)
	}
	_, err = LinkedLibrary(platform.NewOSFS(dir), "/prog-plain", noEnv)
	if !errors.Is(err, ErrNotLinked) {
		t.Errorf("plain program: error = %v, want ErrNotLinked", err)
	}
}

func TestFindVersionText(t *testing.T) {
	tests := []struct{ data, want string }{
		{"junk\x00OpenSSL 3.0.22 25 Aug 2026\x00more", "OpenSSL 3.0.22"},
		{"\x00LibreSSL 3.8.2\x00", "LibreSSL 3.8.2"},
		{"\x00OpenSSL 1.1.1 (compatible; BoringSSL)\x00", "BoringSSL"},
		// Build paths are not version strings.
		{"/build/openssl-1.1.1w/crypto\x00OpenSSL 1.1.1w  11 Sep 2023\x00", "OpenSSL 1.1.1w"},
	}
	for _, tt := range tests {
		v, ok := findVersionText([]byte(tt.data))
		if !ok || v.String() != tt.want {
			t.Errorf("findVersionText(%q) = %v, %v; want %s", tt.data, v, ok, tt.want)
		}
	}
	if _, ok := findVersionText(bytes.Repeat([]byte("OpenSSL "), 10)); ok {
		t.Error("found a version in text without one")
	}
}

// BenchmarkLinkedLibrary times the whole lookup for nginx, or for the binary
// named by TLSFLOOR_BENCH_BINARY (testdata/bench/linked.sh sets it).
func BenchmarkLinkedLibrary(b *testing.B) {
	bin := os.Getenv("TLSFLOOR_BENCH_BINARY")
	if bin == "" {
		bin = "/usr/sbin/nginx"
	}
	platformtest.RequireTool(b, bin)
	fsys := platform.NewOSFS("")
	for b.Loop() {
		if _, err := LinkedLibrary(fsys, bin, noEnv); err != nil {
			b.Fatal(err)
		}
	}
}

func TestSONAMEPattern(t *testing.T) {
	for name, want := range map[string]bool{
		"libssl.so.3": true, "libssl.so.1.1": true, "libssl.so.1.0.0": true, "libssl.so.10": true, "libcrypto.so.3": true,
		"libssl3.so": false, // NSS, not OpenSSL
		"libssl.so":  false, "libcrypto.so": false, "libsmime3.so": false, "libssl.so.3.bak": false,
	} {
		if got := reSONAME().MatchString(name); got != want {
			t.Errorf("reSONAME(%s) = %v, want %v", name, got, want)
		}
	}
}

// buildLDCache writes a cache in glibc's formats: the new table alone, or
// behind an old "ld.so-1.7.0" table as glibc < 2.32 wrote it.
func buildLDCache(entries [][2]string, withOld bool) []byte {
	var strs bytes.Buffer
	offs := make([][2]uint32, len(entries))
	base := uint32(ldCacheNewHeader + len(entries)*ldCacheNewEntry)
	for i, e := range entries {
		offs[i][0] = base + uint32(strs.Len())
		strs.WriteString(e[0] + "\x00")
		offs[i][1] = base + uint32(strs.Len())
		strs.WriteString(e[1] + "\x00")
	}
	le := func(b *bytes.Buffer, v uint32) { b.Write([]byte{byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24)}) }
	var nb bytes.Buffer
	nb.WriteString(ldCacheNewMagic)
	le(&nb, uint32(len(entries)))
	le(&nb, uint32(strs.Len()))
	nb.Write([]byte{2, 0, 0, 0}) // little-endian flag + padding
	le(&nb, 0)                   // extension offset
	nb.Write(make([]byte, 12))
	for _, o := range offs {
		le(&nb, 0x0303) // ELF libc6, x86-64
		le(&nb, o[0])
		le(&nb, o[1])
		le(&nb, 0)
		nb.Write(make([]byte, 8))
	}
	nb.Write(strs.Bytes())
	if !withOld {
		return nb.Bytes()
	}
	var ob bytes.Buffer
	ob.WriteString(ldCacheOldMagic + "\x00")
	le(&ob, 1)
	ob.Write(make([]byte, ldCacheOldEntry)) // one dummy old entry
	for ob.Len()%8 != 0 {
		ob.WriteByte(0)
	}
	ob.Write(nb.Bytes())
	return ob.Bytes()
}

func TestParseLDCacheFormats(t *testing.T) {
	entries := [][2]string{
		{"libcrypto.so.3", "/usr/lib/x86_64-linux-gnu/libcrypto.so.3"},
		{"libcrypto.so.3", "/usr/lib/i386-linux-gnu/libcrypto.so.3"},
		{"libssl.so.3", "/usr/lib/x86_64-linux-gnu/libssl.so.3"},
	}
	want := map[string][]string{
		"libcrypto.so.3": {"/usr/lib/x86_64-linux-gnu/libcrypto.so.3", "/usr/lib/i386-linux-gnu/libcrypto.so.3"},
		"libssl.so.3":    {"/usr/lib/x86_64-linux-gnu/libssl.so.3"},
	}
	for _, withOld := range []bool{false, true} {
		data := buildLDCache(entries, withOld)
		got, err := ParseLDCache(data)
		if err != nil {
			t.Fatalf("withOld=%v: %v", withOld, err)
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("withOld=%v (-want +got):\n%s", withOld, d)
		}
		// Every truncation is an error or a subset, never a panic.
		for n := 0; n < len(data); n++ {
			_, _ = ParseLDCache(data[:n])
		}
	}
	if _, err := ParseLDCache([]byte("something else")); err == nil {
		t.Error("unknown format accepted")
	}
}

// hostMultiarch is Debian's multiarch directory name for bin's machine.
func hostMultiarch(t *testing.T, bin string) string {
	t.Helper()
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, ok := multiarch[f.Machine]
	if !ok {
		t.Skipf("no multiarch directory known for %v", f.Machine)
	}
	return m
}

// FuzzLinkedLibrary feeds corrupt ELF files: an error is fine, a panic or a
// hang is not.
func FuzzLinkedLibrary(f *testing.F) {
	if data, err := os.ReadFile("/usr/bin/true"); err == nil {
		f.Add(data)
	}
	f.Add([]byte("\x7fELF\x02\x01\x01"))
	f.Fuzz(func(t *testing.T, data []byte) {
		root := t.TempDir()
		if err := os.WriteFile(filepath.Join(root, "bin"), data, 0o755); err != nil {
			t.Fatal(err)
		}
		_, _ = LinkedLibrary(platform.NewOSFS(root), "/bin", noEnv)
	})
}
