package mfa

import (
	"bytes"
	"image"
	"image/color"
	"image/png"

	qrcode "github.com/yeqown/go-qrcode/v2"
)

// QRPNG returns a PNG of a QR code carrying text (an otpauth:// URI), with
// scale pixels per module and the four-module quiet zone scanners need.
// go-qrcode encodes; its image writers are a separate module, so the module
// matrix is drawn here.
func QRPNG(text string, scale int) ([]byte, error) {
	q, err := qrcode.New(text)
	if err != nil {
		return nil, err
	}
	w := &pngWriter{scale: max(scale, 1)}
	if err := q.Save(w); err != nil {
		return nil, err
	}
	return w.buf.Bytes(), nil
}

type pngWriter struct {
	scale int
	buf   bytes.Buffer
}

const quiet = 4

func (w *pngWriter) Write(m qrcode.Matrix) error {
	bits := m.Bitmap()
	n := len(bits)
	side := (n + 2*quiet) * w.scale
	img := image.NewPaletted(image.Rect(0, 0, side, side), color.Palette{color.White, color.Black})
	for y, row := range bits {
		for x, on := range row {
			if !on {
				continue
			}
			for dy := range w.scale {
				for dx := range w.scale {
					img.SetColorIndex((x+quiet)*w.scale+dx, (y+quiet)*w.scale+dy, 1)
				}
			}
		}
	}
	return png.Encode(&w.buf, img)
}

func (w *pngWriter) Close() error { return nil }
