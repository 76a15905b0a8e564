package broker

import (
	"fmt"
	"net"
	"os"
	"strconv"

	"github.com/twmb/franz-go/pkg/kfake"
)

// Embedded is the single-node development broker (franz-go's kfake). It
// keeps its log in DataDir with a sync per write, so acknowledged events
// survive a restart, but it is no replacement for a Kafka cluster.
type Embedded struct {
	cluster *kfake.Cluster
	addr    string
}

// StartEmbedded starts the development broker.
func StartEmbedded(cfg EmbeddedConfig) (*Embedded, error) {
	return startEmbedded(cfg)
}

// StartDiscarding starts a development broker that acknowledges produced
// records and throws them away, so that its memory stays flat during long
// load tests. Nothing can be consumed from it.
func StartDiscarding(cfg EmbeddedConfig) (*Embedded, error) {
	cfg.DataDir = ""
	return startEmbedded(cfg, kfake.BlackholeProduce())
}

func startEmbedded(cfg EmbeddedConfig, extra ...kfake.Opt) (*Embedded, error) {
	host, portText, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("embedded broker listen address %q: %w", cfg.Listen, err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		return nil, fmt.Errorf("embedded broker port %q: %w", portText, err)
	}
	opts := []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.Ports(port),
		// kfake binds 127.0.0.1; honour the configured host instead.
		kfake.ListenFn(func(network, _ string) (net.Listener, error) {
			return net.Listen(network, net.JoinHostPort(host, strconv.Itoa(port)))
		}),
		// Small segments: kfake grows a segment by appending to one slice,
		// so at its 100 MiB default each growth copies tens of megabytes
		// and stalls produce requests for tens of milliseconds.
		kfake.BrokerConfigs(map[string]string{"log.segment.bytes": strconv.Itoa(segmentBytes)}),
	}
	if cfg.DataDir != "" {
		if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
			return nil, fmt.Errorf("embedded broker data dir: %w", err)
		}
		opts = append(opts, kfake.DataDir(cfg.DataDir))
		if !cfg.NoSync {
			opts = append(opts, kfake.SyncWrites())
		}
	}
	c, err := kfake.NewCluster(append(opts, extra...)...)
	if err != nil {
		return nil, fmt.Errorf("start embedded broker on %s: %w", cfg.Listen, err)
	}
	addrs := c.ListenAddrs()
	return &Embedded{cluster: c, addr: addrs[0]}, nil
}

// segmentBytes is the embedded broker's log segment size.
const segmentBytes = 8 << 20

// Addr is the broker's host:port.
func (e *Embedded) Addr() string { return e.addr }

// Close stops the broker, flushing its log to disk.
func (e *Embedded) Close() { e.cluster.Close() }
