using Ferry.Images;
using Ferry.Images.Protos;
using Ferry.Restore;

namespace Ferry.Resources.Terminals;

/// <summary>tty-info.img by id and tty-data.img by tty id, checked against the TTY files of files.img.</summary>
public sealed class TerminalImages
{
    TerminalImages(IReadOnlyDictionary<uint, tty_info_entry> infos, IReadOnlyDictionary<uint, byte[]> queued)
    {
        Infos = infos;
        Queued = queued;
    }

    public static readonly TerminalImages None = new(new Dictionary<uint, tty_info_entry>(), new Dictionary<uint, byte[]>());

    /// <summary>Each terminal by its tty-info id (pty index × 2, plus 1 for the master).</summary>
    public IReadOnlyDictionary<uint, tty_info_entry> Infos { get; }

    /// <summary>The bytes that were waiting to be read at each pty end, by tty-info id.</summary>
    public IReadOnlyDictionary<uint, byte[]> Queued { get; }

    internal static TerminalImages Load(DumpSet.Loader set, IReadOnlyDictionary<uint, file_entry> files)
    {
        var ttys = files.Values.Where(f => f.Type == fd_types.Tty).ToList();
        if (ttys.Count == 0 && !set.Exists(ImageNames.TtyInfo))
            return None;
        var infos = new Dictionary<uint, tty_info_entry>();
        foreach (var entry in set.Entries(ImageNames.TtyInfo, ImageKinds.TtyInfo, optional: true))
        {
            var info = entry.As<tty_info_entry>();
            if ((info.Type == TtyType.Pty) != (info.Pty is not null))
                throw set.Defect(ImageNames.TtyInfo, entry.Offset, $"pty data exactly for a PTY (id {info.Id} is {info.Type})");
            if (info.Type is TtyType.Unknown)
                throw set.Defect(ImageNames.TtyInfo, entry.Offset, $"a known terminal type for id {info.Id}");
            if (!infos.TryAdd(info.Id, info))
                throw set.Defect(ImageNames.TtyInfo, entry.Offset, $"unique tty ids, id {info.Id} appears twice");
        }
        foreach (var file in ttys)
        {
            if (file.Tty is null || !infos.ContainsKey(file.Tty.TtyInfoId))
                throw set.Defect("files.img", 0, $"the tty-info entry of TTY file {file.Id} (tty_info_id {file.Tty?.TtyInfoId}) in {ImageNames.TtyInfo}");
            if (file.Tty.HasRegfId && files.GetValueOrDefault(file.Tty.RegfId)?.Reg is null)
                throw set.Defect("files.img", 0, $"regf_id {file.Tty.RegfId} of TTY file {file.Id} to name a regular file entry");
        }
        var queued = new Dictionary<uint, byte[]>();
        foreach (var entry in set.Entries("tty-data.img", ImageKinds.TtyData, optional: true))
            queued[entry.As<tty_data_entry>().TtyId] = entry.As<tty_data_entry>().Data.ToByteArray();
        return new TerminalImages(infos, queued);
    }
}
