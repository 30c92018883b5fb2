//! The conformance suite against the in-memory store, natively.
#![cfg(not(target_arch = "wasm32"))]

mod conformance;

use idb_session_store::InMemorySessionManager;

macro_rules! native_tests {
    ($($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                futures::executor::block_on(conformance::$case(&InMemorySessionManager::new()));
            }
        )*
    };
}

conformance::for_each_case!(native_tests);

#[test]
fn stores_are_send_and_sync_off_wasm() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<InMemorySessionManager>();
    assert_send_sync::<Box<dyn idb_session_store::SessionManager>>();
}
