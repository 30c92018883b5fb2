// The package built from an earlier revision (`make bench BASELINE=rev` puts it in pkg-before/),
// driven like this one: the benchmark's "before" column.
import { adapter } from "./ours.js";

export const open = adapter("/pkg-before/idb_session_store.js");
