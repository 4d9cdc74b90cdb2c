package openssl

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

const (
	ldCacheOldMagic = "ld.so-1.7.0"
	ldCacheNewMagic = "glibc-ld.so.cache1.1"
	// new-format header: magic+version (20), nlibs, len_strings (4 each),
	// flags (1) + 3 padding, extension_offset (4), 3 unused uint32.
	ldCacheNewHeader = 48
	ldCacheNewEntry  = 24 // int32 flags, uint32 key, uint32 value, uint32 osversion, uint64 hwcap
	ldCacheOldEntry  = 12 // int32 flags, uint32 key, uint32 value
)

// ParseLDCache reads glibc's /etc/ld.so.cache and returns, for each SONAME,
// the library paths in cache order (ld.so takes the first one that fits).
// It reads the "glibc-ld.so.cache1.1" format, alone (glibc >= 2.32) or after
// the old "ld.so-1.7.0" table (older glibc), and the old table alone.
func ParseLDCache(data []byte) (map[string][]string, error) {
	if bytes.HasPrefix(data, []byte(ldCacheNewMagic)) {
		return parseNewLDCache(data)
	}
	if !bytes.HasPrefix(data, []byte(ldCacheOldMagic)) {
		return nil, errors.New("ld.so.cache: unknown format")
	}
	if len(data) < 16 {
		return nil, errors.New("ld.so.cache: truncated header")
	}
	nlibs := uint64(binary.LittleEndian.Uint32(data[12:16]))
	end := 16 + nlibs*ldCacheOldEntry
	if end > uint64(len(data)) {
		return nil, errors.New("ld.so.cache: truncated old table")
	}
	// The new table, when present, follows the old one aligned to 8 bytes.
	newStart := (end + 7) &^ 7
	if newStart < uint64(len(data)) && bytes.HasPrefix(data[newStart:], []byte(ldCacheNewMagic)) {
		return parseNewLDCache(data[newStart:])
	}
	// Old format alone: string offsets count from the end of the table.
	strs := data[end:]
	out := map[string][]string{}
	for i := uint64(0); i < nlibs; i++ {
		e := data[16+i*ldCacheOldEntry:]
		key, err1 := cString(strs, uint64(binary.LittleEndian.Uint32(e[4:8])))
		val, err2 := cString(strs, uint64(binary.LittleEndian.Uint32(e[8:12])))
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("ld.so.cache: entry %d: bad string offset", i)
		}
		out[key] = append(out[key], val)
	}
	return out, nil
}

func parseNewLDCache(data []byte) (map[string][]string, error) {
	if len(data) < ldCacheNewHeader {
		return nil, errors.New("ld.so.cache: truncated header")
	}
	var order binary.ByteOrder = binary.LittleEndian
	if data[28] == 3 { // cache_file_new_flags_endian_big
		order = binary.BigEndian
	}
	nlibs := uint64(order.Uint32(data[20:24]))
	if ldCacheNewHeader+nlibs*ldCacheNewEntry > uint64(len(data)) {
		return nil, errors.New("ld.so.cache: truncated table")
	}
	out := map[string][]string{}
	for i := uint64(0); i < nlibs; i++ {
		e := data[ldCacheNewHeader+i*ldCacheNewEntry:]
		// String offsets count from the start of the new header.
		key, err1 := cString(data, uint64(order.Uint32(e[4:8])))
		val, err2 := cString(data, uint64(order.Uint32(e[8:12])))
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("ld.so.cache: entry %d: bad string offset", i)
		}
		out[key] = append(out[key], val)
	}
	return out, nil
}

func cString(b []byte, off uint64) (string, error) {
	if off >= uint64(len(b)) {
		return "", errors.New("offset out of range")
	}
	s := b[off:]
	n := bytes.IndexByte(s, 0)
	if n < 0 {
		return "", errors.New("unterminated string")
	}
	return string(s[:n]), nil
}
