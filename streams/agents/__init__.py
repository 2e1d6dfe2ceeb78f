"""faust agents: each decodes, calls pure code, and writes or sends."""
