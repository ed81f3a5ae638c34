#!/usr/bin/env bash
# Writes cellar(1) from the binary's own help, so the manual never drifts
# from the flags. Usage: make_manpage.sh CELLAR_BIN OUT_DIR
# Produces OUT_DIR/cellar.1.gz and OUT_DIR/cellar-serve-options.txt.
set -euo pipefail
bin="$1" out="$2"
mkdir -p "$out"
version=$("$bin" version | awk '{ print $2 }')
"$bin" serve --help >"$out/cellar-serve-options.txt"
# troff: a leading "." or "'" starts a request, and "\" escapes.
escape() { sed -e 's/\\/\\e/g' -e "s/^\\([.']\\)/\\\\\\&\\1/"; }
{
  echo ".TH CELLAR 1 \"\" \"cellar $version\" \"User Commands\""
  echo ".SH NAME"
  echo "cellar \\- a self-hosted cache for packages, git repositories and build outputs"
  echo ".SH SYNOPSIS"
  echo ".B cellar serve"
  echo "[\\fIoptions\\fR]"
  echo ".br"
  echo ".B cellar run"
  echo "\\fItask\\fR... [\\fIoptions\\fR]"
  echo ".br"
  echo ".B cellar git clone"
  echo "\\fIurl\\fR [\\fIdir\\fR]"
  echo ".SH COMMANDS"
  echo ".nf"
  "$bin" help | escape
  echo ".fi"
  echo ".SH SERVE OPTIONS"
  echo "Flags override CELLAR_* environment variables, which override the YAML file given by"
  echo ".BR \\-\\-config ."
  echo ".nf"
  escape <"$out/cellar-serve-options.txt"
  echo ".fi"
  echo ".SH FILES"
  echo ".TP"
  echo ".I /etc/cellar/cellar.yaml"
  echo "configuration of the cellar service"
  echo ".TP"
  echo ".I /var/lib/cellar"
  echo "the service's data: blobs, index.db, git mirrors"
  echo ".SH SEE ALSO"
  echo "/usr/share/doc/cellar/README.md"
} | gzip -9n >"$out/cellar.1.gz"
