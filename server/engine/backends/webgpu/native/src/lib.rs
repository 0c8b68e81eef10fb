//! A narrow compute-only GPU API for Node, on wgpu (Vulkan): the driver the WebGPU backend uses
//! where Dawn's Node binding breaks (bench/webgpu/README.md). Every GPU object is a numbered handle
//! whose lifetime JavaScript ends explicitly (`destroy`), never the garbage collector; all calls are
//! synchronous, and a read waits for the queue (`device.poll`) instead of a promise.
//!
//! Kernels are the same WGSL the Dawn path compiles. Validation errors never panic: they are caught
//! by an error scope (pipelines, buffers) or kept from the uncaptured-error handler and thrown by the
//! next call, with wgpu's message.
//!
//! Recording is cheap per dispatch (the engine records a thousand or more per forward of a large
//! model): the dispatches of a submit share one compute pass; their parameters go to one arena
//! buffer, bound at a dynamic offset; and bind groups are cached by pipeline layout and buffers (a
//! destroyed buffer's are dropped). With profiling on, each dispatch gets a pass of its own with
//! timestamps, read back at each submit (`take_profile`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use napi::bindgen_prelude::{Buffer, Uint32Array, Uint8Array};
use napi::{Error, Result, Status};
use napi_derive::napi;
use wgpu::util::DeviceExt;

const USAGE: wgpu::BufferUsages = wgpu::BufferUsages::STORAGE
  .union(wgpu::BufferUsages::COPY_SRC)
  .union(wgpu::BufferUsages::COPY_DST);

/// Bytes of parameters one dispatch may pass through the arena (64 words); larger ones get a buffer of their own.
const PARAM_SLOT: u64 = 256;
/// Dispatches recorded before a submit.
const MAX_PASSES: u32 = 512;
/// Bind groups kept before the cache is emptied.
const MAX_BIND_GROUPS: usize = 16384;

type GroupKey = (u32, Vec<u32>);

fn fail(message: impl Into<String>) -> Error {
  Error::new(Status::GenericFailure, message.into())
}

#[napi(object)]
pub struct GpuInfo {
  pub adapter: String,
  pub backend: String,
  pub driver: String,
  pub features: Vec<String>,
  /// "MxNxK ab->cr" for each cooperative-matrix shape the adapter offers.
  pub cooperative_matrices: Vec<String>,
  pub max_buffer_size: f64,
  pub max_storage_buffer_binding_size: f64,
}

#[napi]
pub struct Gpu {
  device: wgpu::Device,
  queue: wgpu::Queue,
  info: wgpu::AdapterInfo,
  features: wgpu::Features,
  limits: wgpu::Limits,
  coop: Vec<wgpu::CooperativeMatrixProperties>,
  buffers: Vec<Option<wgpu::Buffer>>,
  free_ids: Vec<u32>,
  /// Each pipeline and the index of its bind group layout in `layouts`.
  pipelines: Vec<(wgpu::ComputePipeline, u32)>,
  /// Bind group layouts by their bindings' access ("r" read-only, "w" read-write, after the parameters).
  layouts: Vec<(String, wgpu::BindGroupLayout)>,
  encoder: Option<wgpu::CommandEncoder>,
  /// The compute pass the dispatches of this submit share (ended before copies and submits).
  pass: Option<wgpu::ComputePass<'static>>,
  passes: u32,
  /// Parameters of this submit's dispatches, PARAM_SLOT bytes each, written to `arena` at submit.
  arena: wgpu::Buffer,
  arena_data: Vec<u8>,
  slot_bytes: u64,
  groups: HashMap<GroupKey, wgpu::BindGroup>,
  /// Which cached bind groups bind each buffer id, to drop them when it is destroyed.
  groups_of: HashMap<u32, Vec<GroupKey>>,
  /// Profiling: timestamps around each dispatch, durations (ns) in dispatch order.
  profiling: bool,
  queries: Option<wgpu::QuerySet>,
  profile: Vec<f64>,
  /// The first error reported outside an error scope, thrown by the next call.
  error: Arc<Mutex<Option<String>>>,
}

#[napi]
impl Gpu {
  /// Opens the first high-performance Vulkan adapter with every limit it has, shader-f16 and
  /// cooperative matrices (experimental in wgpu) where offered.
  #[napi(factory)]
  pub fn open() -> Result<Gpu> {
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
      backends: wgpu::Backends::VULKAN,
      flags: wgpu::InstanceFlags::empty(),
      ..wgpu::InstanceDescriptor::new_without_display_handle()
    });
    let adapter = pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions {
      power_preference: wgpu::PowerPreference::HighPerformance,
      force_fallback_adapter: false,
      compatible_surface: None,
      apply_limit_buckets: false,
    }))
    .map_err(|e| fail(format!("No Vulkan adapter for wgpu: {e}")))?;
    let wanted = wgpu::Features::SHADER_F16
      | wgpu::Features::EXPERIMENTAL_COOPERATIVE_MATRIX
      | wgpu::Features::TIMESTAMP_QUERY
      | wgpu::Features::SUBGROUP;
    let features = adapter.features() & wanted;
    let limits = adapter.limits();
    let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
      label: Some("locus"),
      required_features: features,
      required_limits: limits.clone(),
      // SAFETY of the token: cooperative matrices are wgpu's experimental feature; kernels that use
      // them are checked against the CPU backend before they are chosen (bench/webgpu/parity.ts).
      experimental_features: unsafe { wgpu::ExperimentalFeatures::enabled() },
      memory_hints: wgpu::MemoryHints::Performance,
      trace: wgpu::Trace::Off,
    }))
    .map_err(|e| fail(format!("The adapter refused a device: {e}")))?;
    let error = Arc::new(Mutex::new(None));
    let sink = error.clone();
    device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
      let mut slot = sink.lock().unwrap();
      if slot.is_none() {
        *slot = Some(e.to_string());
      }
    }));
    let slot_bytes = PARAM_SLOT.max(limits.min_storage_buffer_offset_alignment as u64);
    let arena = device.create_buffer(&wgpu::BufferDescriptor {
      label: Some("params"),
      size: slot_bytes * MAX_PASSES as u64,
      usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
      mapped_at_creation: false,
    });
    let coop = if features.contains(wgpu::Features::EXPERIMENTAL_COOPERATIVE_MATRIX) {
      adapter.cooperative_matrix_properties()
    } else {
      Vec::new()
    };
    Ok(Gpu {
      device,
      queue,
      info: adapter.get_info(),
      features,
      limits,
      coop,
      buffers: Vec::new(),
      free_ids: Vec::new(),
      pipelines: Vec::new(),
      layouts: Vec::new(),
      encoder: None,
      pass: None,
      passes: 0,
      arena,
      arena_data: Vec::new(),
      slot_bytes,
      groups: HashMap::new(),
      groups_of: HashMap::new(),
      profiling: false,
      queries: None,
      profile: Vec::new(),
      error,
    })
  }

  #[napi]
  pub fn info(&self) -> GpuInfo {
    GpuInfo {
      adapter: self.info.name.clone(),
      backend: format!("{:?}", self.info.backend),
      driver: format!("{} {}", self.info.driver, self.info.driver_info).trim().to_string(),
      features: self.features.iter_names().map(|(name, _)| name.to_string()).collect(),
      cooperative_matrices: self
        .coop
        .iter()
        .map(|p| format!("{}x{}x{} {:?}->{:?}", p.m_size, p.n_size, p.k_size, p.ab_type, p.cr_type))
        .collect(),
      max_buffer_size: self.limits.max_buffer_size as f64,
      max_storage_buffer_binding_size: self.limits.max_storage_buffer_binding_size as f64,
    }
  }

  fn check(&self) -> Result<()> {
    match self.error.lock().unwrap().take() {
      Some(message) => Err(fail(format!("GPU error: {message}"))),
      None => Ok(()),
    }
  }

  fn keep(&mut self, buffer: wgpu::Buffer) -> u32 {
    match self.free_ids.pop() {
      Some(id) => {
        self.buffers[id as usize] = Some(buffer);
        id
      }
      None => {
        self.buffers.push(Some(buffer));
        (self.buffers.len() - 1) as u32
      }
    }
  }

  fn buffer(&self, id: u32) -> Result<&wgpu::Buffer> {
    self.buffers.get(id as usize).and_then(|b| b.as_ref()).ok_or_else(|| fail(format!("no GPU buffer {id}")))
  }

  /// A storage buffer of `bytes` (a multiple of 4), zero-filled. Throws, saying how much was asked
  /// and the limit, when the device cannot hold it.
  #[napi]
  pub fn create_buffer(&mut self, bytes: f64) -> Result<u32> {
    let size = bytes as u64;
    if size > self.limits.max_buffer_size {
      return Err(fail(format!(
        "a GPU buffer of {size} bytes is over the device's limit of {} bytes",
        self.limits.max_buffer_size
      )));
    }
    let scope = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
    let buffer = self.device.create_buffer(&wgpu::BufferDescriptor {
      label: None,
      size,
      usage: USAGE,
      mapped_at_creation: false,
    });
    if let Some(e) = pollster::block_on(scope.pop()) {
      return Err(fail(format!("GPU out of memory allocating {size} bytes: {e}")));
    }
    Ok(self.keep(buffer))
  }

  /// A new storage buffer holding `data` (written at creation, so no recorded pass can see it
  /// half-written). The buffer is `capacity` bytes (≥ data), the rest zero.
  #[napi]
  pub fn upload(&mut self, data: Uint8Array, capacity: f64) -> Result<u32> {
    let size = (capacity as u64).max(data.len() as u64);
    let scope = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
    let buffer = self.device.create_buffer(&wgpu::BufferDescriptor {
      label: None,
      size,
      usage: USAGE,
      mapped_at_creation: true,
    });
    buffer.slice(..data.len() as u64).get_mapped_range_mut().map_err(|e| fail(format!("{e}")))?.copy_from_slice(&data);
    buffer.unmap();
    if let Some(e) = pollster::block_on(scope.pop()) {
      return Err(fail(format!("GPU out of memory allocating {size} bytes: {e}")));
    }
    Ok(self.keep(buffer))
  }

  /// Writes `data` at the start of a buffer, ordered after everything already submitted and before
  /// the next submit (so the caller submits recorded work that reads the old contents first).
  #[napi]
  pub fn write(&mut self, id: u32, data: Uint8Array) -> Result<()> {
    let buffer = self.buffer(id)?.clone();
    self.queue.write_buffer(&buffer, 0, &data);
    self.check()
  }

  /// Ends a buffer. Work already recorded that reads it still runs (wgpu keeps it until then).
  #[napi]
  pub fn destroy(&mut self, id: u32) {
    if let Some(slot) = self.buffers.get_mut(id as usize) {
      if slot.take().is_some() {
        self.free_ids.push(id);
        if let Some(keys) = self.groups_of.remove(&id) {
          for key in keys {
            self.groups.remove(&key);
          }
        }
      }
    }
  }

  /// Compiles a WGSL compute shader (entry point `main`, one bind group: the parameters at binding 0,
  /// then one storage buffer per letter of `access`, "r" read-only or "w" read-write, at 1..n);
  /// throws wgpu's message. `checked`: wgpu's runtime checks (index clamping, loop bounding,
  /// division guards). Without them the kernel runs as written: ours bounds-check every access
  /// themselves, and the checks cost more than half of a matmul's speed on the H100
  /// (bench/webgpu/README.md).
  #[napi]
  pub fn compile(&mut self, code: String, checked: bool, access: String) -> Result<u32> {
    let layout = self.layout(&access)?;
    let scope = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
    let desc = wgpu::ShaderModuleDescriptor { label: None, source: wgpu::ShaderSource::Wgsl(code.into()) };
    let checks = if checked { wgpu::ShaderRuntimeChecks::checked() } else { wgpu::ShaderRuntimeChecks::unchecked() };
    // SAFETY: without checks an out-of-bounds access is undefined; the kernels guard their own.
    let module = unsafe { self.device.create_shader_module_trusted(desc, checks) };
    let pipeline_layout = self.device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
      label: None,
      bind_group_layouts: &[Some(&self.layouts[layout as usize].1)],
      immediate_size: 0,
    });
    let pipeline = self.device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
      label: None,
      layout: Some(&pipeline_layout),
      module: &module,
      entry_point: Some("main"),
      compilation_options: Default::default(),
      cache: None,
    });
    if let Some(e) = pollster::block_on(scope.pop()) {
      return Err(fail(format!("WGSL kernel did not compile: {e}")));
    }
    self.pipelines.push((pipeline, layout));
    Ok((self.pipelines.len() - 1) as u32)
  }

  /// The bind group layout for `access` (made once per distinct string).
  fn layout(&mut self, access: &str) -> Result<u32> {
    if let Some(i) = self.layouts.iter().position(|(a, _)| a == access) {
      return Ok(i as u32);
    }
    let storage = |binding: u32, read_only: bool, dynamic: bool| wgpu::BindGroupLayoutEntry {
      binding,
      visibility: wgpu::ShaderStages::COMPUTE,
      ty: wgpu::BindingType::Buffer {
        ty: wgpu::BufferBindingType::Storage { read_only },
        has_dynamic_offset: dynamic,
        min_binding_size: None,
      },
      count: None,
    };
    let mut entries = vec![storage(0, true, true)];
    for (i, c) in access.chars().enumerate() {
      match c {
        'r' => entries.push(storage(i as u32 + 1, true, false)),
        'w' => entries.push(storage(i as u32 + 1, false, false)),
        _ => return Err(fail(format!("binding access '{c}' is neither r nor w"))),
      }
    }
    let layout = self.device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor { label: None, entries: &entries });
    self.layouts.push((access.to_string(), layout));
    Ok((self.layouts.len() - 1) as u32)
  }

  /// Profiling on: each dispatch in a pass of its own with timestamps before and after; the
  /// durations are read back at each submit and returned by `take_profile`.
  #[napi]
  pub fn set_profiling(&mut self, on: bool) -> Result<()> {
    if on && !self.features.contains(wgpu::Features::TIMESTAMP_QUERY) {
      return Err(fail("this adapter has no timestamp queries"));
    }
    self.submit()?;
    self.profiling = on;
    if on && self.queries.is_none() {
      self.queries = Some(self.device.create_query_set(&wgpu::QuerySetDescriptor {
        label: Some("profile"),
        ty: wgpu::QueryType::Timestamp,
        count: 2 * MAX_PASSES,
      }));
    }
    Ok(())
  }

  /// GPU nanoseconds of each dispatch recorded with profiling on, in order, since the last call.
  #[napi]
  pub fn take_profile(&mut self) -> Result<Vec<f64>> {
    self.submit()?;
    Ok(std::mem::take(&mut self.profile))
  }

  /// Records one dispatch: `params` (u32 words) bound at 0, then `buffers` at 1..n.
  #[napi]
  pub fn dispatch(&mut self, pipeline: u32, params: Uint32Array, buffers: Vec<u32>, x: u32, y: u32, z: u32) -> Result<()> {
    let words: &[u32] = &params;
    let layout = self.pipelines.get(pipeline as usize).ok_or_else(|| fail(format!("no pipeline {pipeline}")))?.1;
    // the parameters: a slot of the arena, or (past a slot's size) a buffer of their own
    let bytes = bytemuck_words(words);
    let (own, offset) = if bytes.len() as u64 <= PARAM_SLOT {
      let offset = self.passes as u64 * self.slot_bytes;
      self.arena_data.resize(offset as usize, 0);
      self.arena_data.extend_from_slice(bytes);
      (None, offset as u32)
    } else {
      let buffer = self.device.create_buffer_init(&wgpu::util::BufferInitDescriptor { label: None, contents: bytes, usage: wgpu::BufferUsages::STORAGE });
      (Some(buffer), 0)
    };
    let group = match &own {
      Some(params) => self.bind_group(layout, params, &buffers, false)?,
      None => {
        let key = (layout, buffers.clone());
        match self.groups.get(&key) {
          Some(g) => g.clone(),
          None => {
            let arena = self.arena.clone();
            let g = self.bind_group(layout, &arena, &buffers, true)?;
            if self.groups.len() >= MAX_BIND_GROUPS {
              self.groups.clear();
              self.groups_of.clear();
            }
            for id in &buffers {
              self.groups_of.entry(*id).or_default().push(key.clone());
            }
            self.groups.insert(key, g.clone());
            g
          }
        }
      }
    };
    let compute = self.pipelines[pipeline as usize].0.clone();
    if self.profiling {
      self.pass = None;
      let index = self.passes * 2;
      let queries = self.queries.clone().ok_or_else(|| fail("profiling without a query set"))?;
      let encoder = self
        .encoder
        .get_or_insert_with(|| self.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None }));
      let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
        label: None,
        timestamp_writes: Some(wgpu::ComputePassTimestampWrites {
          query_set: &queries,
          beginning_of_pass_write_index: Some(index),
          end_of_pass_write_index: Some(index + 1),
        }),
      });
      pass.set_pipeline(&compute);
      pass.set_bind_group(0, &group, &[offset]);
      pass.dispatch_workgroups(x, y, z);
    } else {
      if self.pass.is_none() {
        let encoder = self
          .encoder
          .get_or_insert_with(|| self.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None }));
        self.pass = Some(encoder.begin_compute_pass(&wgpu::ComputePassDescriptor { label: None, timestamp_writes: None }).forget_lifetime());
      }
      let pass = self.pass.as_mut().unwrap();
      pass.set_pipeline(&compute);
      pass.set_bind_group(0, &group, &[offset]);
      pass.dispatch_workgroups(x, y, z);
    }
    self.passes += 1;
    if self.passes >= MAX_PASSES {
      self.submit()?;
    }
    Ok(())
  }

  fn bind_group(&self, layout: u32, params: &wgpu::Buffer, buffers: &[u32], arena: bool) -> Result<wgpu::BindGroup> {
    let params_binding = if arena {
      wgpu::BindingResource::Buffer(wgpu::BufferBinding { buffer: params, offset: 0, size: std::num::NonZeroU64::new(PARAM_SLOT) })
    } else {
      params.as_entire_binding()
    };
    let mut entries = vec![wgpu::BindGroupEntry { binding: 0, resource: params_binding }];
    for (i, id) in buffers.iter().enumerate() {
      entries.push(wgpu::BindGroupEntry { binding: (i + 1) as u32, resource: self.buffer(*id)?.as_entire_binding() });
    }
    Ok(self.device.create_bind_group(&wgpu::BindGroupDescriptor { label: None, layout: &self.layouts[layout as usize].1, entries: &entries }))
  }

  /// The encoder, with the shared compute pass ended (for copies and submits).
  fn encoder(&mut self) -> &mut wgpu::CommandEncoder {
    self.pass = None;
    self.encoder.get_or_insert_with(|| self.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None }))
  }

  /// Records a copy between buffers.
  #[napi]
  pub fn copy(&mut self, src: u32, src_offset: f64, dst: u32, dst_offset: f64, bytes: f64) -> Result<()> {
    let (s, d) = (self.buffer(src)?.clone(), self.buffer(dst)?.clone());
    self.encoder().copy_buffer_to_buffer(&s, src_offset as u64, &d, dst_offset as u64, bytes as u64);
    Ok(())
  }

  /// Submits what is recorded (the parameters' arena written first).
  #[napi]
  pub fn submit(&mut self) -> Result<()> {
    self.pass = None;
    let profiled = if self.profiling && self.passes > 0 { self.passes } else { 0 };
    if let Some(mut encoder) = self.encoder.take() {
      if !self.arena_data.is_empty() {
        self.queue.write_buffer(&self.arena, 0, &self.arena_data);
      }
      let resolved = if profiled > 0 {
        let queries = self.queries.clone().unwrap();
        let bytes = profiled as u64 * 16;
        let resolve = self.device.create_buffer(&wgpu::BufferDescriptor {
          label: None,
          size: bytes,
          usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
          mapped_at_creation: false,
        });
        let staging = self.device.create_buffer(&wgpu::BufferDescriptor {
          label: None,
          size: bytes,
          usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
          mapped_at_creation: false,
        });
        encoder.resolve_query_set(&queries, 0..profiled * 2, &resolve, 0);
        encoder.copy_buffer_to_buffer(&resolve, 0, &staging, 0, bytes);
        Some(staging)
      } else {
        None
      };
      self.queue.submit([encoder.finish()]);
      if let Some(staging) = resolved {
        let slice = staging.slice(..);
        slice.map_async(wgpu::MapMode::Read, |_| {});
        self.device.poll(wgpu::PollType::wait_indefinitely()).map_err(|e| fail(format!("GPU wait failed: {e}")))?;
        let data = slice.get_mapped_range().map_err(|e| fail(format!("{e}")))?;
        let period = self.queue.get_timestamp_period() as f64;
        for pair in data.chunks_exact(16) {
          let begin = u64::from_le_bytes(pair[0..8].try_into().unwrap());
          let end = u64::from_le_bytes(pair[8..16].try_into().unwrap());
          self.profile.push(end.saturating_sub(begin) as f64 * period);
        }
        drop(data);
        staging.unmap();
      }
    }
    self.arena_data.clear();
    self.passes = 0;
    self.check()
  }

  /// Waits until the GPU has finished everything submitted.
  #[napi]
  pub fn wait(&mut self) -> Result<()> {
    self.submit()?;
    self.device.poll(wgpu::PollType::wait_indefinitely()).map_err(|e| fail(format!("GPU wait failed: {e}")))?;
    self.check()
  }

  /// Reads `bytes[i]` bytes from the start of each buffer `ids[i]`, concatenated: one staging
  /// buffer, one submit, one wait.
  #[napi]
  pub fn read(&mut self, ids: Vec<u32>, bytes: Vec<f64>) -> Result<Buffer> {
    let total: u64 = bytes.iter().map(|b| *b as u64).sum();
    let staging = self.device.create_buffer(&wgpu::BufferDescriptor {
      label: None,
      size: total.max(4),
      usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
      mapped_at_creation: false,
    });
    let mut offset = 0u64;
    for (id, n) in ids.iter().zip(bytes.iter()) {
      let n = *n as u64;
      self.copy_to(*id, &staging, offset, n)?;
      offset += n;
    }
    self.submit()?;
    let slice = staging.slice(..total.max(4));
    let mapped: Arc<Mutex<Option<std::result::Result<(), wgpu::BufferAsyncError>>>> = Arc::new(Mutex::new(None));
    let done = mapped.clone();
    slice.map_async(wgpu::MapMode::Read, move |r| *done.lock().unwrap() = Some(r));
    self.device.poll(wgpu::PollType::wait_indefinitely()).map_err(|e| fail(format!("GPU wait failed: {e}")))?;
    self.check()?;
    match mapped.lock().unwrap().take() {
      Some(Ok(())) => {}
      Some(Err(e)) => return Err(fail(format!("reading the GPU buffer failed: {e}"))),
      None => return Err(fail("reading the GPU buffer did not finish")),
    }
    let out = slice.get_mapped_range().map_err(|e| fail(format!("{e}")))?[..total as usize].to_vec();
    staging.unmap();
    Ok(out.into())
  }

  fn copy_to(&mut self, id: u32, staging: &wgpu::Buffer, offset: u64, bytes: u64) -> Result<()> {
    let src = self.buffer(id)?.clone();
    self.encoder().copy_buffer_to_buffer(&src, 0, staging, offset, bytes);
    Ok(())
  }
}

fn bytemuck_words(words: &[u32]) -> &[u8] {
  // SAFETY: u32 has no padding and u8 has alignment 1.
  unsafe { std::slice::from_raw_parts(words.as_ptr() as *const u8, std::mem::size_of_val(words)) }
}

/// Compiles WGSL to SPIR-V with naga and every capability on, without a device: how kernels for
/// features this adapter lacks (cooperative matrices on lavapipe) are checked to compile at all.
/// Returns the SPIR-V's length in words; throws naga's message.
#[napi]
pub fn validate_wgsl(code: String) -> Result<u32> {
  use wgpu::naga;
  let module = naga::front::wgsl::parse_str(&code).map_err(|e| fail(format!("WGSL did not parse: {}", e.emit_to_string(&code))))?;
  let info = naga::valid::Validator::new(naga::valid::ValidationFlags::all(), naga::valid::Capabilities::all())
    .validate(&module)
    .map_err(|e| fail(format!("WGSL did not validate: {}", e.emit_to_string(&code))))?;
  let options = naga::back::spv::Options { lang_version: (1, 6), ..Default::default() };
  let words = naga::back::spv::write_vec(&module, &info, &options, None).map_err(|e| fail(format!("SPIR-V output failed: {e}")))?;
  Ok(words.len() as u32)
}
