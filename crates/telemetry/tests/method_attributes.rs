//! A call's method attributes allocate nothing once its method has been seen: counted by an
//! allocator that tallies this thread's allocations.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use almo_telemetry::metrics::method_attributes;

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Allocations on this thread while `f` runs.
fn allocations(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.with(Cell::get);
    f();
    ALLOCATIONS.with(Cell::get) - before
}

const PATH: &str = "/almo.sla.v1.SlaChargingService/GetInvoice";

#[test]
fn a_known_methods_attributes_allocate_nothing_after_its_first_call() {
    let first = method_attributes(PATH, true);
    assert_eq!(first[0].value.as_str(), "almo.sla.v1.SlaChargingService");
    assert_eq!(first[1].value.as_str(), "GetInvoice");
    let n = allocations(|| {
        for _ in 0..100 {
            let kv = method_attributes(PATH, true);
            // As the duration and shed metrics use them.
            let recorded = [kv[0].clone(), kv[1].clone()];
            assert_eq!(recorded[1].value.as_str(), "GetInvoice");
        }
    });
    assert_eq!(n, 0, "allocations for 100 calls' method attributes");
}

#[test]
fn an_unknown_methods_attributes_allocate_nothing() {
    let n = allocations(|| {
        for _ in 0..100 {
            let kv = method_attributes("/made.up.Service/Anything", false);
            assert_eq!(kv[1].value.as_str(), "_OTHER");
        }
    });
    assert_eq!(n, 0);
}
