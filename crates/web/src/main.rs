//! The page's entry point: mount the app on <body>.

#[cfg(target_arch = "wasm32")]
fn main() {
    yew::Renderer::<web::App>::new().render();
}

/// Native builds (`cargo build --workspace`) have nothing to run.
#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("the web crate is the browser page: build it with `trunk build --release --offline`");
}
