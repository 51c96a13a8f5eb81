// include_dir embeds `templates/` at compile time; without this line cargo
// would not notice templates that are added or removed.
fn main() {
    println!("cargo:rerun-if-changed=templates");
}
