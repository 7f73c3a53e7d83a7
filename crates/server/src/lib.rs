//! The HTTP gateway: catalog, watch page, JSON API
