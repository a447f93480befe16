import Foundation
import SwiftCaffe

// Solvers for the Python module: caffe.SGDSolver(path) ... and
// caffe.get_solver(path). The train and test nets are handed out as net
// handles (released with sc_net_free) that keep the solver's nets alive.

final class SolverBox {
    let solver: Solver
    let net: NetBox
    let testNets: [NetBox]

    init(_ solver: Solver) {
        self.solver = solver
        // Scripts read any blob of these nets, so nothing is fused away.
        for n in [solver.net] + solver.testNets { n.fusesForInference = false }
        net = NetBox(solver.net)
        testNets = solver.testNets.map(NetBox.init)
    }
}

func solverBox(_ h: UnsafeMutableRawPointer) -> SolverBox { Unmanaged<SolverBox>.fromOpaque(h).takeUnretainedValue() }

/// The solver in `path`; `type` (SGD, Nesterov, AdaGrad, RMSProp, AdaDelta,
/// Adam) replaces the file's, as pycaffe's SGDSolver(path) ... classes do,
/// or NULL keeps it (get_solver). Caffe's log lines go to standard error.
/// Python layers run through `layers`, as in sc_net_create.
@_cdecl("sc_solver_create")
public func sc_solver_create(_ path: UnsafePointer<CChar>, _ type: UnsafePointer<CChar>?, _ layers: LayerCallback?,
                             _ out: UnsafeMutablePointer<UnsafeMutableRawPointer?>) -> Int32 {
    guarded {
        var loaded = try ModelFile.loadSolver(path: String(cString: path))
        if let type {
            let name = String(cString: type)
            guard let t = SolverType(rawValue: name) else {
                throw CaffeError.usage("unknown solver type '\(name)'; SwiftCaffe has " + SolverType.allCases.map(\.rawValue).joined(separator: ", "))
            }
            loaded.solver.type = t
        }
        let solver = try Solver(loaded, externalLayers: layers.map(CallbackLayers.init))
        solver.observers.append(CaffeLogWriter(standardError: true))
        out.pointee = Unmanaged.passRetained(SolverBox(solver)).toOpaque()
    }
}

@_cdecl("sc_solver_free")
public func sc_solver_free(_ h: UnsafeMutableRawPointer?) {
    if let h { Unmanaged<SolverBox>.fromOpaque(h).release() }
}

@_cdecl("sc_solver_type")
public func sc_solver_type(_ h: UnsafeMutableRawPointer) -> UnsafePointer<CChar> {
    solverBox(h).net.cString(solverBox(h).solver.parameter.type.rawValue)
}

@_cdecl("sc_solver_iter")
public func sc_solver_iter(_ h: UnsafeMutableRawPointer) -> Int32 { Int32(clamping: solverBox(h).solver.iteration) }

/// The train net (+1 reference: release with sc_net_free).
@_cdecl("sc_solver_net")
public func sc_solver_net(_ h: UnsafeMutableRawPointer) -> UnsafeMutableRawPointer {
    Unmanaged.passRetained(solverBox(h).net).toOpaque()
}

@_cdecl("sc_solver_test_net_count")
public func sc_solver_test_net_count(_ h: UnsafeMutableRawPointer) -> Int32 { Int32(solverBox(h).testNets.count) }

/// Test net i (+1 reference), or NULL past the end.
@_cdecl("sc_solver_test_net")
public func sc_solver_test_net(_ h: UnsafeMutableRawPointer, _ i: Int32) -> UnsafeMutableRawPointer? {
    let nets = solverBox(h).testNets
    return nets.indices.contains(Int(i)) ? Unmanaged.passRetained(nets[Int(i)]).toOpaque() : nil
}

@_cdecl("sc_solver_step")
public func sc_solver_step(_ h: UnsafeMutableRawPointer, _ iterations: Int32) -> Int32 {
    guarded {
        guard iterations >= 0 else { throw CaffeError.usage("step takes a number of iterations ≥ 0, found \(iterations)") }
        try solverBox(h).solver.step(Int(iterations))
    }
}

/// Caffe's Solve, after restoring `resume` (a .solverstate) when not NULL.
@_cdecl("sc_solver_solve")
public func sc_solver_solve(_ h: UnsafeMutableRawPointer, _ resume: UnsafePointer<CChar>?) -> Int32 {
    guarded {
        if let resume { try solverBox(h).solver.restore(from: String(cString: resume)) }
        try solverBox(h).solver.solve()
    }
}

@_cdecl("sc_solver_restore")
public func sc_solver_restore(_ h: UnsafeMutableRawPointer, _ path: UnsafePointer<CChar>) -> Int32 {
    guarded { try solverBox(h).solver.restore(from: String(cString: path)) }
}

@_cdecl("sc_solver_snapshot")
public func sc_solver_snapshot(_ h: UnsafeMutableRawPointer) -> Int32 {
    guarded { try solverBox(h).solver.snapshot() }
}
