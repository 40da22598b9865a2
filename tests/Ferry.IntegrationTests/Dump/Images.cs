using Ferry.Images;
using Google.Protobuf;

namespace Ferry.IntegrationTests.Dump;

/// <summary>Reads dumped images with Ferry's own image library.</summary>
public static class Images
{
    public static List<T> Entries<T>(string path) where T : class, IMessage =>
        ImageReader.ReadFile(path).Entries.Select(e => e.As<T>()).ToList();

    public static T Single<T>(string path) where T : class, IMessage => Entries<T>(path).Single();

    public static List<(T Message, byte[] Extra)> EntriesWithExtra<T>(string path) where T : class, IMessage =>
        ImageReader.ReadFile(path).Entries.Select(e => (e.As<T>(), e.Extra.ToArray())).ToList();
}
