//! Each HTTP function's `CLIENTS` names exactly the clients its handlers use: one used but not
//! declared would be built by the first request that needs it (the cold start moved into a
//! request), one declared but unused would slow every cold start for nothing. The dev server and
//! the other tests build every client, so only this reads what each function's code touches.

use std::path::Path;

/// Every `.rs` file under `dir`, concatenated.
fn source_of(dir: &Path) -> String {
    let mut source = String::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            source += &source_of(&path);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            source += &std::fs::read_to_string(&path).unwrap();
        }
    }
    source
}

#[test]
fn every_function_declares_the_clients_its_handlers_use_and_no_others() {
    let functions = api_tests::declared_clients();
    let http_functions: Vec<_> = dev_server::functions().into_iter().map(|(name, _)| name).collect();
    assert_eq!(functions.map(|(name, _)| name).to_vec(), http_functions, "a function is missing here");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../functions");
    for (name, declared) in functions {
        let source = source_of(&root.join(name).join("src"));
        // `rota::sales::fulfil` queues the receipt of what a payment bought.
        let queues = source.contains("state.outbox.") || source.contains("fulfil(");
        assert_eq!(declared.outbox, queues, "{name}: CLIENTS.outbox");
        assert_eq!(declared.files, source.contains("state.files"), "{name}: CLIENTS.files");
        assert_eq!(declared.payments, source.contains("state.payments()"), "{name}: CLIENTS.payments");
    }
}
