//! A pool of same-size objects: particles that are born and die in any
//! order, each in a slot of a `Pool`, each allocation and free O(1).
//!
//! Run it with `cargo run --example pool_particles`.

use allocators::pool::Pool;
use allocators::raw_allocator::AllocError;
use allocators::region::OwnedRegion;

// ANCHOR: particle
/// A particle: one per slot of the pool.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Particle {
    position: [f64; 3],
    velocity: [f64; 3],
    age: u32,
    id: u32,
}
// ANCHOR_END: particle

fn main() -> Result<(), AllocError> {
    // ANCHOR: pool
    // Room for 1,000 particles, and not one more.
    let region = OwnedRegion::new(1000 * size_of::<Particle>(), 64)?;
    let pool: Pool<Particle, _> = Pool::new(region)?;
    assert_eq!(pool.capacity(), 1000);

    let mut live = Vec::new();
    for id in 0..1000 {
        live.push(pool.alloc(Particle {
            position: [0.0; 3],
            velocity: [1.0, 0.5, f64::from(id)],
            age: 0,
            id,
        })?);
    }
    // Full: the next particle is an error, not a crash.
    assert_eq!(pool.alloc(*live[0]).unwrap_err(), AllocError::OutOfMemory);
    // ANCHOR_END: pool

    // ANCHOR: churn
    // Every step, each particle moves and ages; every seventh one dies and
    // a new one takes its slot: the one freed last (LIFO).
    for step in 0..10 {
        for particle in live.iter_mut() {
            for axis in 0..3 {
                particle.position[axis] += particle.velocity[axis];
            }
            particle.age += 1;
        }
        let died: Vec<usize> = (step..live.len()).step_by(7).collect();
        for &i in died.iter().rev() {
            let dead = live.swap_remove(i);
            let slot = &*dead as *const Particle;
            drop(dead); // the slot goes back on the free list
            let born = pool.alloc(Particle {
                position: [0.0; 3],
                velocity: [0.0; 3],
                age: 0,
                id: 1000 + step as u32,
            })?;
            assert_eq!(&*born as *const Particle, slot, "the freed slot is reused");
            live.push(born);
        }
        pool.check().expect("the free list is consistent");
    }
    // ANCHOR_END: churn

    assert_eq!(pool.live(), 1000);
    let oldest = live.iter().map(|p| p.age).max().unwrap_or(0);
    println!(
        "{} particles in {} slots of {} bytes; the oldest is {oldest} steps old",
        pool.live(),
        pool.capacity(),
        size_of::<Particle>()
    );
    drop(live);
    assert_eq!(pool.live(), 0);
    Ok(())
}
