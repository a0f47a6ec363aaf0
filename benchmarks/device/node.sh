# Sourced by run.sh and sweep.sh: unpacks the bundle's node (xz, or Python's lzma where the GPU
# image has no xz) to $node_bin. Needs $here, the bundle's directory.
node_bin=/tmp/dynhead-node
if command -v xz >/dev/null; then
  xz -dc "$here/node.xz" >"$node_bin"
else
  python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), sys.stdout.buffer)' "$here/node.xz" >"$node_bin"
fi
chmod +x "$node_bin"
