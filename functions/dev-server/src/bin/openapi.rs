//! `make openapi`: prints the whole API's OpenAPI document (committed as `openapi.json`).

fn main() {
    let document = dev_server::document().to_pretty_json().expect("an OpenAPI document serialises");
    println!("{document}");
}
