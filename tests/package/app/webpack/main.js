// webpack 5 app: the bundler build (no init(); webpack instantiates the wasm).
import { SessionStore } from "idb-session-store/bundler";
import { report, roundTrip } from "../roundtrip.js";

const dbName = new URLSearchParams(location.search).get("db");
report(roundTrip(SessionStore, dbName));
