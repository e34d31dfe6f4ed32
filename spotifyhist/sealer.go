package spotifyhist

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
)

// Sealer errors.
var (
	// ErrWrongKey: the sealed value was made with a different key.
	ErrWrongKey = errors.New("spotifyhist: sealed value was encrypted with a different key")
	// ErrCorruptSealed: the sealed value is truncated, altered or of an unknown format.
	ErrCorruptSealed = errors.New("spotifyhist: sealed value is corrupt")
)

// KeySize is the Sealer key length: AES-256.
const KeySize = 32

// Sealed format, version 1:
//
//	version (1 byte, 0x01) | key id (4 bytes) | nonce (12 bytes) | AES-256-GCM ciphertext+tag
//
// The key id (the first 4 bytes of HMAC-SHA256(key, "spotifyhist sealer key id")) tells a
// wrong key from corruption; the header is authenticated as additional data.
const (
	sealVersion1 = 0x01
	keyIDSize    = 4
	nonceSize    = 12
	headerSize   = 1 + keyIDSize
)

// Sealer encrypts small secrets (OAuth tokens) for storage with AES-256-GCM. It is safe for
// concurrent use.
type Sealer struct {
	aead  cipher.AEAD
	keyID [keyIDSize]byte
}

// NewSealer returns a Sealer for a 32-byte key (see [DeriveKey] for configured secrets).
func NewSealer(key []byte) (*Sealer, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("spotifyhist: new sealer: key is %d bytes, want %d", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, wrap("new sealer", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, wrap("new sealer", err)
	}
	s := &Sealer{aead: aead}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("spotifyhist sealer key id"))
	copy(s.keyID[:], mac.Sum(nil))
	return s, nil
}

// DeriveKey turns a configured secret (e.g. SPOTIFYHIST_SECRET_KEY) into a Sealer key:
// SHA-256 over a fixed label and the secret. It is not a password hash: the secret must be
// long and random.
func DeriveKey(secret string) []byte {
	h := sha256.New()
	h.Write([]byte("spotifyhist token sealing key v1\x00"))
	h.Write([]byte(secret))
	return h.Sum(nil)
}

// Seal encrypts plaintext with a fresh random nonce.
func (s *Sealer) Seal(plaintext []byte) ([]byte, error) {
	out := make([]byte, headerSize+nonceSize, headerSize+nonceSize+len(plaintext)+s.aead.Overhead())
	out[0] = sealVersion1
	copy(out[1:headerSize], s.keyID[:])
	nonce := out[headerSize : headerSize+nonceSize]
	if _, err := rand.Read(nonce); err != nil {
		return nil, wrap("seal", err)
	}
	return s.aead.Seal(out, nonce, plaintext, out[:headerSize]), nil
}

// Open decrypts a value made by Seal. It returns an error wrapping ErrWrongKey when the
// value was sealed with another key, and ErrCorruptSealed when it is truncated, altered or
// of an unknown version.
func (s *Sealer) Open(sealed []byte) ([]byte, error) {
	if len(sealed) < headerSize+nonceSize+s.aead.Overhead() {
		return nil, fmt.Errorf("spotifyhist: open: %w: %d bytes is too short", ErrCorruptSealed, len(sealed))
	}
	if sealed[0] != sealVersion1 {
		return nil, fmt.Errorf("spotifyhist: open: %w: unknown format version %d", ErrCorruptSealed, sealed[0])
	}
	if !hmac.Equal(sealed[1:headerSize], s.keyID[:]) {
		return nil, fmt.Errorf("spotifyhist: open: %w", ErrWrongKey)
	}
	nonce := sealed[headerSize : headerSize+nonceSize]
	pt, err := s.aead.Open(nil, nonce, sealed[headerSize+nonceSize:], sealed[:headerSize])
	if err != nil {
		return nil, fmt.Errorf("spotifyhist: open: %w: authentication failed", ErrCorruptSealed)
	}
	return pt, nil
}

// SealToken encrypts tok's JSON form.
func (s *Sealer) SealToken(tok *Token) ([]byte, error) {
	if tok == nil {
		return nil, errors.New("spotifyhist: seal token: nil token")
	}
	b, err := json.Marshal(tok)
	if err != nil {
		return nil, wrap("seal token", err)
	}
	return s.Seal(b)
}

// OpenToken decrypts a token sealed by SealToken.
func (s *Sealer) OpenToken(sealed []byte) (*Token, error) {
	b, err := s.Open(sealed)
	if err != nil {
		return nil, err
	}
	var tok Token
	if err := json.Unmarshal(b, &tok); err != nil {
		return nil, fmt.Errorf("spotifyhist: open token: %w: %w", ErrCorruptSealed, err)
	}
	return &tok, nil
}
