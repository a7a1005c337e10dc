package partner

import "github.com/wardenhq/warden"

func errorf(format string, args ...any) error { return warden.Errorf(warden.EINVALID, format, args...) }
