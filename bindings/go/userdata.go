package imds

import (
	"encoding/binary"
	"errors"
)

// UserDataPart is a part of user data: a leaf of a MIME multi-part document (as
// cloud-init writes it), its body decoded, or the whole data when it is not
// multi-part. An empty field is one the part does not have.
type UserDataPart struct {
	// ContentType is the media type, lower case; "" for data that is not multi-part.
	ContentType string
	// Filename is the Content-Disposition file name.
	Filename string
	// Charset is the declared charset.
	Charset string
	// Payload is the body, its transfer encoding (base64, quoted-printable) removed.
	Payload []byte
}

// UserDataParts splits user data as every binding does (the driver's): gzip
// removed, then the leaf parts of a MIME multi-part document in order (nested
// documents included), or the whole data as one part when it is not multi-part;
// none when it is empty. Malformed data is a KindBadResponse *Error saying why.
func UserDataParts(data []byte) ([]UserDataPart, error) {
	var parts []UserDataPart
	err := inModule(data, func(m *machine, at, n uint64) error {
		r, err := m.callExport("vpc_imds_user_data_parts", m.handle, at, n)
		if err != nil {
			return err
		}
		out, err := m.output()
		if err != nil {
			return err
		}
		if int64(r) < 0 {
			return errorFrom(out)
		}
		parts, err = readParts(out, int(r))
		return err
	})
	return parts, err
}

// IsMultipart reports whether user data (gzip removed) is a well-formed MIME
// multi-part document: UserDataParts gives its leaves.
func IsMultipart(data []byte) bool {
	yes := false
	_ = inModule(data, func(m *machine, at, n uint64) error {
		r, err := m.callExport("vpc_imds_user_data_is_multipart", at, n)
		yes = err == nil && uint32(r) == 1
		return err
	})
	return yes
}

// readParts reads n parts of four fields, each a little-endian u32 length (all
// ones: absent) and its bytes.
func readParts(out []byte, n int) ([]UserDataPart, error) {
	field := func() ([]byte, error) {
		if len(out) < 4 {
			return nil, errMemory
		}
		size := binary.LittleEndian.Uint32(out)
		out = out[4:]
		if size == ^uint32(0) {
			return nil, nil
		}
		if uint64(size) > uint64(len(out)) {
			return nil, errMemory
		}
		b := append([]byte{}, out[:size]...)
		out = out[size:]
		return b, nil
	}
	parts := make([]UserDataPart, n)
	for i := range parts {
		var fields [4][]byte
		for j := range fields {
			var err error
			if fields[j], err = field(); err != nil {
				return nil, err
			}
		}
		parts[i] = UserDataPart{string(fields[0]), string(fields[1]), string(fields[2]), fields[3]}
	}
	return parts, nil
}

// inModule runs f on an instance of the idle pool, with data copied into the
// guest's memory at `at` (n bytes).
func inModule(data []byte, f func(m *machine, at, n uint64) error) error {
	m, err := newMachine(nil, 1)
	if err != nil {
		return err
	}
	defer m.close()
	size := uint64(max(len(data), 1))
	at, err := m.alloc(size)
	if err != nil {
		return err
	}
	if len(data) > 0 && !m.mem.Write(uint32(at), data) {
		return errMemory
	}
	err = f(m, at, uint64(len(data)))
	_, _ = m.call(m.fnDealloc, at, size)
	return err
}

// callExport calls the module's export `name` (one the machine does not keep).
func (m *machine) callExport(name string, params ...uint64) (uint64, error) {
	fn := m.mod.ExportedFunction(name)
	if fn == nil {
		return 0, errors.New("vpc-imds: the module lacks " + name)
	}
	return m.call(fn, params...)
}
