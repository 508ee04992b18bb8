mod has_headers_impl;

pub use has_headers_impl::HasHeadersImpl;
