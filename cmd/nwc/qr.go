package main

import (
	"io"
	"strings"

	qrcode "github.com/skip2/go-qrcode"
)

// writeQR draws text as a QR code with half-block characters: two modules per character
// row, dark on light, with the quiet zone the library adds.
func writeQR(w io.Writer, text string) error {
	q, err := qrcode.New(text, qrcode.Low)
	if err != nil {
		return err
	}
	bits := q.Bitmap()
	var sb strings.Builder
	for y := 0; y < len(bits); y += 2 {
		for x := range bits[y] {
			top := bits[y][x]
			bottom := y+1 < len(bits) && bits[y+1][x]
			switch {
			case top && bottom:
				sb.WriteRune(' ')
			case top:
				sb.WriteRune('▄')
			case bottom:
				sb.WriteRune('▀')
			default:
				sb.WriteRune('█')
			}
		}
		sb.WriteByte('\n')
	}
	_, err = io.WriteString(w, sb.String())
	return err
}
