package master

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
)

// loadTLS prepares the client side of TLS from the CA file, and checks that
// the server certificate and key load, so a bad file stops start-up.
func (m *Master) loadTLS() error {
	if m.cfg.CAFile != "" {
		pem, err := os.ReadFile(m.cfg.CAFile)
		if err != nil {
			return fmt.Errorf("read CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("CA file %s contains no PEM certificate", m.cfg.CAFile)
		}
		m.tlsClient = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	if (m.cfg.TLSCertFile == "") != (m.cfg.TLSKeyFile == "") {
		return fmt.Errorf("TLS needs both a certificate file and a key file")
	}
	if m.cfg.TLSCertFile != "" {
		if _, err := tls.LoadX509KeyPair(m.cfg.TLSCertFile, m.cfg.TLSKeyFile); err != nil {
			return fmt.Errorf("load TLS certificate: %w", err)
		}
	}
	return nil
}

// serveAPI serves the API on the listener, over TLS when configured.
func (m *Master) serveAPI() error {
	if m.cfg.TLSCertFile == "" {
		return m.httpServer.Serve(m.listener)
	}
	m.httpServer.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	return m.httpServer.ServeTLS(m.listener, m.cfg.TLSCertFile, m.cfg.TLSKeyFile)
}

// scheme returns the URL scheme of this master's API.
func (m *Master) scheme() string {
	if m.cfg.TLSCertFile != "" {
		return "https"
	}
	return "http"
}
