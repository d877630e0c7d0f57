//! The benchmark's command line: `generate small|large|xl SEED`, `solve INSTANCE --time-ms N
//! [--seed S] [--moves M]`, `check INSTANCE SOLUTION`, `explain INSTANCE SOLUTION` (why each
//! place left open is); JSON out (docs/auto-fill.md).

use std::time::Instant;

use solver::generate::{Shape, generate};
use solver::{Instance, Limits, check, solve, unfilled};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    let option = |name: &str, default: u64| -> u64 {
        words.iter().position(|word| *word == name).map_or(default, |at| words[at + 1].parse().expect("a number"))
    };
    let output = match words.as_slice() {
        ["generate", name, seed, ..] => {
            let shape = Shape::named(name).expect("small, large or xl");
            serde_json::to_value(generate(shape, seed.parse().expect("a seed"))).expect("an instance")
        }
        ["solve", path, ..] => {
            let instance = read_instance(path);
            let limit = std::time::Duration::from_millis(option("--time-ms", 10_000));
            let started = Instant::now();
            let mut trace: Vec<(u128, i64)> = Vec::new();
            let solution = solve(
                &instance,
                Limits {
                    seed: option("--seed", 1),
                    max_moves: option("--moves", u64::MAX),
                    stop: &mut || started.elapsed() >= limit,
                    on_best: &mut |_, objective| trace.push((started.elapsed().as_millis(), objective)),
                },
            );
            let report = check(&instance, &solution.assignments);
            serde_json::json!({
                "solver": "rota",
                "assignments": solution.assignments,
                "objective": solution.objective,
                "parts": solution.parts,
                "hard_violations": report.violations.len(),
                "unfilled_places": report.unfilled_places,
                "moves": solution.moves,
                "first_feasible_ms": trace.first().map(|(ms, _)| *ms),
                "trace": trace,
            })
        }
        ["check", instance, solution] => {
            let instance = read_instance(instance);
            serde_json::to_value(check(&instance, &read_assignments(solution))).expect("a report")
        }
        ["explain", instance, solution] => {
            let instance = read_instance(instance);
            serde_json::to_value(unfilled(&instance, &read_assignments(solution))).expect("an explanation")
        }
        _ => {
            eprintln!(
                "usage: solver-bench generate small|large|xl SEED | solve INSTANCE [--time-ms N] [--seed S] [--moves M] | check|explain INSTANCE SOLUTION"
            );
            std::process::exit(2);
        }
    };
    println!("{output}");
}

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|error| panic!("{path}: {error}"))
}

fn read_instance(path: &str) -> Instance {
    let instance: Instance = serde_json::from_str(&read(path)).unwrap_or_else(|error| panic!("{path}: {error}"));
    if let Err(problem) = instance.validate() {
        panic!("{path}: {problem}");
    }
    instance
}

fn read_assignments(path: &str) -> Vec<(u32, u32)> {
    let solution: serde_json::Value = serde_json::from_str(&read(path)).expect("a solution");
    serde_json::from_value(solution["assignments"].clone()).expect("assignments as [shift, person] pairs")
}
