// Vite app: the web build, bundled by `vite build`, which emits the .wasm as an asset.
import init, { SessionStore } from "idb-session-store";
import { report, roundTrip } from "../roundtrip.js";

const dbName = new URLSearchParams(location.search).get("db");
report(init().then(() => roundTrip(SessionStore, dbName)));
