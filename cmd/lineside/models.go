package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lineside/lineside/sync/update"
)

// newModelsCmd is `lineside models`: the cloud-side tools of the model
// update protocol (DESIGN.md, "Model update protocol").
func newModelsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "models",
		Short: "Sign, publish, inspect and track model updates",
	}
	cmd.AddCommand(newModelsKeygenCmd(), newModelsPushCmd(), newModelsInspectCmd(),
		newModelsListCmd(), newModelsClearCmd(), newModelsEvalCmd())
	return cmd
}

// newModelsKeygenCmd is `lineside models keygen`.
func newModelsKeygenCmd() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "keygen --out NAME",
		Short: "Make an ed25519 key pair: NAME.key (secret, for push) and NAME.pub (for updates.trusted_keys)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return usageError{fmt.Errorf("--out is required")}
			}
			pub, priv, err := update.GenerateKey()
			if err != nil {
				return err
			}
			if _, err := os.Stat(out + ".key"); err == nil {
				return fmt.Errorf("%s.key exists; not overwriting a signing key", out)
			}
			if err := os.WriteFile(out+".key", []byte(update.EncodePrivateKey(priv)+"\n"), 0o600); err != nil {
				return err
			}
			if err := os.WriteFile(out+".pub", []byte(update.EncodePublicKey(pub)+"\n"), 0o644); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "key_id %s\npublic %s\nwrote %s.key (keep it secret) and %s.pub\n",
				update.KeyID(pub), update.EncodePublicKey(pub), out, out)
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "path prefix of the key files")
	return cmd
}

// newModelsPushCmd is `lineside models push`.
func newModelsPushCmd() *cobra.Command {
	var b brokerFlags
	var key, name, version string
	var targets []string
	var chunkSize int64
	cmd := &cobra.Command{
		Use:   "push --broker URL --key K --name N --version V FILE [--targets GLOB]",
		Short: "Publish a model: retained chunks, then the signed manifest",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if key == "" || name == "" || version == "" {
				return usageError{fmt.Errorf("--key, --name and --version are required")}
			}
			priv, err := update.ReadPrivateKey(key)
			if err != nil {
				return err
			}
			data, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			m, err := update.NewManifest(name, version, data, chunkSize, targets)
			if err != nil {
				return err
			}
			if err := update.Sign(m, priv); err != nil {
				return err
			}
			c, err := b.connect("push", nil)
			if err != nil {
				return err
			}
			defer c.Disconnect(250)
			bar := progressBar(cmd.ErrOrStderr(), fmt.Sprintf("%s %s", name, version))
			if err := update.Push(c, b.prefix, m, data, bar); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "pushed %s %s: %d bytes in %d chunks, sha256 %s, key_id %s, targets %s\n",
				name, version, m.Size, m.Chunks, m.SHA256, m.KeyID, orAll(targets))
			return nil
		},
	}
	f := cmd.Flags()
	b.register(f)
	f.StringVar(&key, "key", "", "private key file from keygen")
	f.StringVar(&name, "name", "", "model name, as in the devices' models section")
	f.StringVar(&version, "version", "", "semantic version, newer than what the devices serve")
	f.StringSliceVar(&targets, "targets", nil, "site/line/device globs, e.g. plant1/*/* (default: every device)")
	f.Int64Var(&chunkSize, "chunk-size", update.DefaultChunkSize, "chunk size in bytes")
	return cmd
}

// progressBar returns a progress callback drawing a bar on w.
func progressBar(w io.Writer, label string) func(done, total int) {
	return func(done, total int) {
		const width = 30
		n := done * width / total
		fmt.Fprintf(w, "\r%s [%s%s] %d/%d chunks", label, strings.Repeat("#", n), strings.Repeat(".", width-n), done, total)
		if done == total {
			fmt.Fprintln(w)
		}
	}
}

func orAll(targets []string) string {
	if len(targets) == 0 {
		return "all devices"
	}
	return strings.Join(targets, ",")
}
