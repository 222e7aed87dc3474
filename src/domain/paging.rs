//! Pagination: `page` ≥ 1 and `page_size` 1..=100 (default 50).

/// Default page size.
pub const DEFAULT_PAGE_SIZE: u32 = 50;
/// Largest page size.
pub const MAX_PAGE_SIZE: u32 = 100;

/// A validated page request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    page: u32,
    page_size: u32,
}

impl Default for PageRequest {
    fn default() -> Self {
        Self { page: 1, page_size: DEFAULT_PAGE_SIZE }
    }
}

impl PageRequest {
    /// Validates `page` (≥ 1, and small enough that the offset fits) and `page_size` (1..=100).
    pub fn new(page: Option<u32>, page_size: Option<u32>) -> Result<Self, (&'static str, String)> {
        let page = page.unwrap_or(1);
        let page_size = page_size.unwrap_or(DEFAULT_PAGE_SIZE);
        if page == 0 || page > 1_000_000 {
            return Err(("page", "must be between 1 and 1000000".into()));
        }
        if !(1..=MAX_PAGE_SIZE).contains(&page_size) {
            return Err(("page_size", format!("must be between 1 and {MAX_PAGE_SIZE}")));
        }
        Ok(Self { page, page_size })
    }

    /// One-based page number.
    pub fn page(&self) -> u32 {
        self.page
    }

    /// Items per page.
    pub fn page_size(&self) -> u32 {
        self.page_size
    }

    /// Items to skip.
    pub fn offset(&self) -> u64 {
        u64::from(self.page - 1) * u64::from(self.page_size)
    }

    /// Items to take.
    pub fn limit(&self) -> u64 {
        u64::from(self.page_size)
    }
}

/// One page of results and the total across all pages.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// Total matching items.
    pub total: u64,
    /// The request that produced it.
    pub request: PageRequest,
}

impl<T> Page<T> {
    /// Maps the items.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page { items: self.items.into_iter().map(f).collect(), total: self.total, request: self.request }
    }

    /// Number of pages (0 when there is nothing).
    pub fn total_pages(&self) -> u64 {
        self.total.div_ceil(u64::from(self.request.page_size()))
    }

    /// True when a later page exists.
    pub fn has_next(&self) -> bool {
        u64::from(self.request.page()) < self.total_pages()
    }

    /// True when an earlier page exists.
    pub fn has_prev(&self) -> bool {
        self.request.page() > 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_bounds() {
        assert_eq!(PageRequest::new(None, None).unwrap(), PageRequest::default());
        assert!(PageRequest::new(Some(0), None).is_err());
        assert!(PageRequest::new(None, Some(0)).is_err());
        assert!(PageRequest::new(None, Some(101)).is_err());
        assert_eq!(PageRequest::new(Some(3), Some(20)).unwrap().offset(), 40);
    }

    #[test]
    fn page_arithmetic() {
        let p = Page { items: vec![1, 2], total: 5, request: PageRequest::new(Some(2), Some(2)).unwrap() };
        assert_eq!(p.total_pages(), 3);
        assert!(p.has_next());
        assert!(p.has_prev());
        let empty: Page<u8> = Page { items: vec![], total: 0, request: PageRequest::default() };
        assert_eq!(empty.total_pages(), 0);
        assert!(!empty.has_next());
    }
}
