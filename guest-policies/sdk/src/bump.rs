//! The allocator [`export_policy!`](crate::export_policy) installs inside the
//! sandbox: a bump allocator. The host runs every evaluation in a fresh
//! instance and throws its memory away afterwards, so freeing is wasted
//! work, and a general-purpose allocator's bookkeeping costs more than most
//! policies' own work: even lowering the proposal into the instance calls it
//! once per string. Allocation moves a pointer, growing memory a page run at
//! a time; `dealloc` does nothing; growing the newest block extends it in
//! place. The host's memory limit still bounds the total.

use std::alloc::{GlobalAlloc, Layout};
use std::cell::Cell;
use std::ptr::null_mut;

const PAGE_BYTES: usize = 65_536;

/// A bump allocator for one short-lived wasm instance; see the module doc.
pub struct BumpAllocator {
    /// The first free byte, and the end of the memory this allocator owns.
    next: Cell<usize>,
    end: Cell<usize>,
    /// Where the newest block starts, so `realloc` can extend it in place.
    last: Cell<usize>,
}

// SAFETY: a wasm32-unknown-unknown instance runs one thread.
unsafe impl Sync for BumpAllocator {}

impl Default for BumpAllocator {
    fn default() -> Self {
        BumpAllocator::new()
    }
}

impl BumpAllocator {
    /// An allocator that owns no memory yet.
    pub const fn new() -> BumpAllocator {
        BumpAllocator { next: Cell::new(0), end: Cell::new(0), last: Cell::new(0) }
    }

    /// Claims `size` bytes at `align`, growing memory when needed.
    fn claim(&self, size: usize, align: usize) -> *mut u8 {
        let start = match self.next.get().checked_add(align - 1) {
            Some(padded) => padded & !(align - 1),
            None => return null_mut(),
        };
        let Some(end) = start.checked_add(size) else { return null_mut() };
        if self.end.get() == 0 {
            self.start_at_heap_base();
            return self.claim(size, align);
        }
        if end > self.end.get() {
            return self.grow_and_claim(size, align);
        }
        self.next.set(end);
        self.last.set(start);
        start as *mut u8
    }

    /// Takes the memory the module starts with, from the end of its data
    /// and stack (`__heap_base`) to its current size: memory the instance
    /// already has costs nothing to use, while growing it makes the host
    /// change page protections twice per evaluation.
    fn start_at_heap_base(&self) {
        unsafe extern "C" {
            static __heap_base: u8;
        }
        // The linker defines `__heap_base`; taking its address reads nothing.
        let base = &raw const __heap_base as usize;
        let size = core::arch::wasm32::memory_size(0) * PAGE_BYTES;
        self.next.set(base);
        // An empty range (size == base) still ends the first-use state.
        self.end.set(size.max(base).max(1));
    }

    fn grow_and_claim(&self, size: usize, align: usize) -> *mut u8 {
        let pages = (size + align).div_ceil(PAGE_BYTES).max(1);
        let previous = core::arch::wasm32::memory_grow(0, pages);
        if previous == usize::MAX {
            return null_mut();
        }
        let grown_from = previous * PAGE_BYTES;
        // Memory grown by someone else in between leaves our old tail
        // behind; start over at the new pages.
        if grown_from != self.end.get() {
            self.next.set(grown_from);
        }
        self.end.set(grown_from + pages * PAGE_BYTES);
        self.claim(size, align)
    }
}

// SAFETY: blocks never overlap (the pointer only moves forward, or the
// newest block grows into free space), and every block is aligned as asked.
unsafe impl GlobalAlloc for BumpAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.claim(layout.size(), layout.align())
    }

    unsafe fn dealloc(&self, _block: *mut u8, _layout: Layout) {}

    unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let start = block as usize;
        if start == self.last.get() && start + new_size <= self.end.get() {
            self.next.set(start + new_size);
            return block;
        }
        let moved = self.claim(new_size, layout.align());
        if !moved.is_null() {
            // SAFETY: both blocks are valid for the smaller size and distinct.
            unsafe { std::ptr::copy_nonoverlapping(block, moved, layout.size().min(new_size)) };
        }
        moved
    }
}
